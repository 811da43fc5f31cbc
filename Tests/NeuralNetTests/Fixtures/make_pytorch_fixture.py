"""Writes pytorch_reference.json: PyTorch's forward output, loss and one Adam step for fixed
small networks, inputs and weights, which NeuralNetTests compares against.

Run once with PyTorch installed:  python make_pytorch_fixture.py  (from this folder).
"""
import json

import torch
import torch.nn as nn


def build(architecture):
    layers = []
    for spec in architecture:
        kind = spec["type"]
        if kind in ("conv2d", "convTranspose2d"):
            cls = nn.Conv2d if kind == "conv2d" else nn.ConvTranspose2d
            layers.append(cls(spec["inChannels"], spec["outChannels"], spec["kernelSize"],
                              stride=spec.get("stride", 1), padding=spec.get("padding", 0),
                              bias=spec.get("bias", False)))
        elif kind == "batchNorm2d":
            layers.append(nn.BatchNorm2d(spec["channels"]))
        elif kind == "leakyReLU":
            layers.append(nn.LeakyReLU(spec["negativeSlope"]))
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind == "sigmoid":
            layers.append(nn.Sigmoid())
        elif kind == "tanh":
            layers.append(nn.Tanh())
        elif kind == "code":
            layers.append(nn.Identity())
    return nn.Sequential(*layers)


def flat(tensors):
    return [float(v) for t in tensors for v in t.detach().reshape(-1).tolist()]


def case(name, architecture, input_shape, loss, seed):
    torch.manual_seed(seed)
    model = build(architecture)
    with torch.no_grad():  # non-trivial batch-norm affine parameters
        for module in model:
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    x = torch.rand(*input_shape)
    parameters = flat(model.parameters())
    statistics = flat(b for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    y = model(x)
    value = (nn.L1Loss() if loss == "l1" else nn.MSELoss())(y, x)
    optimizer.zero_grad()
    value.backward()
    optimizer.step()
    after_one = flat(model.parameters())
    for _ in range(2):  # two more steps on the same batch: Adam's bias correction beyond t = 1
        optimizer.zero_grad()
        (nn.L1Loss() if loss == "l1" else nn.MSELoss())(model(x), x).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        inference = model(x)
    return {
        "name": name, "architecture": architecture, "inputShape": list(input_shape), "loss": loss,
        "learningRate": 0.01, "input": flat([x]), "parameters": parameters, "statistics": statistics,
        "output": flat([y]), "lossValue": float(value),
        "parametersAfterStep": after_one, "parametersAfterThreeSteps": flat(model.parameters()),
        "statisticsAfterStep": flat(b for n, b in model.named_buffers() if not n.endswith("num_batches_tracked")),
        "inferenceOutputAfterStep": flat([inference]),
    }


def conv(kind, cin, cout, k, stride=1, padding=0, bias=False):
    return {"type": kind, "inChannels": cin, "outChannels": cout, "kernelSize": k, "stride": stride,
            "padding": padding, "bias": bias}


# Biases only where no batch norm follows: there the exact gradient is zero and Adam's first
# step would amplify rounding noise into a ±lr jump.
small = [conv("conv2d", 1, 2, 3, 2, 1, True), {"type": "tanh"}, conv("conv2d", 2, 3, 2),
         {"type": "batchNorm2d", "channels": 3}, {"type": "leakyReLU", "negativeSlope": 0.2}, {"type": "code"}, conv("convTranspose2d", 3, 2, 2),
         {"type": "batchNorm2d", "channels": 2}, {"type": "relu"}, conv("convTranspose2d", 2, 1, 3, 2, 1, True),
         {"type": "sigmoid"}]


def down(cin, cout, k):
    return [conv("conv2d", cin, cout, k, 1 if k == 2 else 2), {"type": "batchNorm2d", "channels": cout},
            {"type": "leakyReLU", "negativeSlope": 0.2}]


def up(cin, cout, k, last=False):
    layers = [conv("convTranspose2d", cin, cout, k, 1 if k == 2 else 2), {"type": "batchNorm2d", "channels": cout}]
    return layers if last else layers + [{"type": "relu"}]


mnist = down(1, 3, 2) + down(3, 6, 3) + down(6, 6, 3) + down(6, 6, 4) + [{"type": "code"}] \
    + up(6, 6, 4) + up(6, 6, 3) + up(6, 3, 3) + up(3, 1, 2, last=True)

cases = [case("small", small, (3, 1, 7, 7), "l1", 1), case("small-mse", small, (4, 1, 7, 7), "mse", 2),
         case("mnist-autoencoder", mnist, (2, 1, 28, 28), "l1", 3)]
with open("pytorch_reference.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
