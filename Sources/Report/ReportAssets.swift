// The style sheet and script inlined into every report. Hand-written, no library: the page must
// work offline from file:// and by e-mail, and its Content-Security-Policy forbids every request.

enum ReportAssets {
    static let style = """
        :root { --ink: #1d2330; --muted: #5d6678; --line: #d9dde5; --paper: #ffffff; --wash: #f5f6f9;
          --ran: #2e9d5b; --cached: #6b7a99; --restored: #2f8f9d; --failed: #d0433b; --skipped: #d99a22; --none: #a9b0bf; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--wash); }
        header.top { background: var(--paper); border-bottom: 1px solid var(--line); padding: 18px 28px; }
        header.top h1 { margin: 0 0 6px; font-size: 22px; }
        .facts { display: flex; flex-wrap: wrap; gap: 6px 22px; color: var(--muted); }
        .facts b { color: var(--ink); font-weight: 600; }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; }
        .outcome-ran { background: var(--ran); } .outcome-cached { background: var(--cached); }
        .outcome-restored { background: var(--restored); } .outcome-failed { background: var(--failed); }
        .outcome-skipped { background: var(--skipped); } .outcome-not-run { background: var(--none); }
        main { padding: 18px 28px 60px; max-width: 1280px; }
        .card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 0 0 18px; }
        .card h2 { margin: 0 0 10px; font-size: 18px; }
        .card h3 { margin: 14px 0 6px; font-size: 14px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
        #dag svg { max-width: 100%; height: auto; }
        #dag a { cursor: pointer; } #dag a:hover rect { stroke: var(--ink); stroke-width: 2; }
        table { border-collapse: collapse; font-size: 13px; }
        th, td { text-align: left; padding: 3px 12px 3px 0; vertical-align: top; }
        th { color: var(--muted); font-weight: 600; }
        td.num { font-variant-numeric: tabular-nums; }
        code, .mono { font: 12.5px ui-monospace, "DejaVu Sans Mono", monospace; }
        .default { color: var(--muted); } .default::after { content: " (default)"; font-size: 11px; }
        .problem { background: #fdeceb; border-left: 4px solid var(--failed); padding: 8px 12px; white-space: pre-wrap; }
        .note { color: var(--muted); }
        .tree td:first-child { white-space: nowrap; }
        .tree .attr td:first-child { padding-left: 22px; color: var(--muted); }
        .figures { display: flex; flex-wrap: wrap; gap: 12px; }
        .figures img { max-width: 100%; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
        .scatter-view { display: flex; gap: 14px; align-items: flex-start; flex-wrap: wrap; }
        .scatter-box { position: relative; width: 760px; max-width: 100%; }
        canvas.scatter { width: 100%; height: 600px; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: grab; touch-action: none; display: block; }
        .legend { display: flex; flex-direction: column; gap: 3px; }
        .legend button { display: flex; align-items: center; gap: 8px; border: 1px solid var(--line); background: #fff; border-radius: 4px; padding: 3px 10px; font: inherit; cursor: pointer; text-align: left; }
        .legend button[aria-pressed="false"] { opacity: .35; text-decoration: line-through; }
        .legend .swatch { width: 12px; height: 12px; border-radius: 50%; display: inline-block; }
        .tooltip { position: absolute; pointer-events: none; background: rgba(29,35,48,.92); color: #fff; padding: 6px 8px; border-radius: 4px; font-size: 12px; display: none; z-index: 2; }
        .tooltip canvas { display: block; margin-top: 4px; image-rendering: pixelated; background: #000; }
        .chart { position: relative; display: inline-block; margin-right: 14px; }
        .chart .readout { position: absolute; top: 4px; right: 8px; font-size: 12px; color: var(--muted); }
        .toolbar { margin: 6px 0; color: var(--muted); font-size: 12px; }
        """

    static let script = #"""
        "use strict";
        (function () {
          const report = window.h5pipeReport = { scatters: [], charts: [] };
          function decode(base64, Type) {
            const bytes = Uint8Array.from(atob(base64), c => c.charCodeAt(0));
            return new Type(bytes.buffer, 0, bytes.byteLength / Type.BYTES_PER_ELEMENT);
          }
          const palette = ["#1f77b4","#ff7f0e","#2ca02c","#d62728","#9467bd","#8c564b","#e377c2","#7f7f7f","#bcbd22","#17becf",
            "#393b79","#637939","#8c6d31","#843c39","#7b4173","#3182bd","#e6550d","#31a354","#756bb1","#636363"];
          function rgb(hex) { return [parseInt(hex.slice(1,3),16), parseInt(hex.slice(3,5),16), parseInt(hex.slice(5,7),16)]; }

          // DAG: a click scrolls to the stage's section.
          document.querySelectorAll("#dag a[data-target]").forEach(a => a.addEventListener("click", event => {
            event.preventDefault();
            const target = document.getElementById(a.dataset.target);
            if (target) { target.scrollIntoView({ behavior: "instant", block: "start" }); history.replaceState(null, "", "#" + a.dataset.target); }
          }));

          // Scatter: canvas, pan (drag), zoom (wheel), legend toggles, hover tooltip with the image.
          document.querySelectorAll(".scatter-view").forEach(view => {
            const data = JSON.parse(view.querySelector("script.scatter-meta").textContent);
            const x = decode(view.querySelector("script.scatter-x").textContent.trim(), Float32Array);
            const y = decode(view.querySelector("script.scatter-y").textContent.trim(), Float32Array);
            const labelsNode = view.querySelector("script.scatter-labels");
            const labels = labelsNode ? decode(labelsNode.textContent.trim(), Int32Array) : null;
            const indices = decode(view.querySelector("script.scatter-indices").textContent.trim(), Int32Array);
            const canvas = view.querySelector("canvas.scatter");
            const tooltip = view.querySelector(".tooltip");
            const thumb = tooltip.querySelector("canvas");
            const context = canvas.getContext("2d", { alpha: false });
            const n = x.length;
            const classes = labels ? Array.from(new Set(labels)).sort((a, b) => a - b) : [0];
            const hidden = new Set();
            // Per point, the index of its class in `classes`; per class, its colour and whether hidden.
            const classOf = new Map(classes.map((c, i) => [c, i]));
            const classIndex = new Uint16Array(n);
            if (labels) for (let i = 0; i < n; i++) classIndex[i] = classOf.get(labels[i]);
            const colors = new Uint32Array(classes.length), hiddenMask = new Uint8Array(classes.length);
            classes.forEach((c, i) => { const [r, g, b] = rgb(palette[i % palette.length]); colors[i] = 0xff000000 | (b << 16) | (g << 8) | r; });
            // A fixed shuffle of the drawing order, so no class sits on top of the others.
            const order = new Uint32Array(n); for (let i = 0; i < n; i++) order[i] = i;
            let seed = 12345; for (let i = n - 1; i > 0; i--) { seed = (seed * 1103515245 + 12345) >>> 0; const j = seed % (i + 1); const t = order[i]; order[i] = order[j]; order[j] = t; }
            let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
            for (let i = 0; i < n; i++) { if (x[i] < minX) minX = x[i]; if (x[i] > maxX) maxX = x[i]; if (y[i] < minY) minY = y[i]; if (y[i] > maxY) maxY = y[i]; }
            const view0 = { cx: (minX + maxX) / 2, cy: (minY + maxY) / 2, span: Math.max(maxX - minX, maxY - minY, 1e-9) * 1.05 };
            const state = { cx: view0.cx, cy: view0.cy, span: view0.span, drawn: 0, frames: [], pending: false };
            let image = null, pixels = null, width = 0, height = 0, scale = 1;
            function resize() {
              const dpr = window.devicePixelRatio || 1;
              const rect = canvas.getBoundingClientRect();
              width = Math.max(1, Math.round(rect.width * dpr)); height = Math.max(1, Math.round(rect.height * dpr));
              if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
              image = context.createImageData(width, height); pixels = new Uint32Array(image.data.buffer); scale = dpr;
            }
            function toScreen() { const k = Math.min(width, height) / state.span; return [k, width / 2 - state.cx * k, height / 2 + state.cy * k]; }
            const radius = n > 50000 ? 1 : n > 5000 ? 2 : 3;
            // The pixels of one point: a disc of the radius (a single pixel at radius 1).
            const stamp = [];
            for (let dy = 1 - radius; dy < radius; dy++) for (let dx = 1 - radius; dx < radius; dx++)
              if (dx * dx + dy * dy <= (radius - 0.5) * (radius - 0.5)) stamp.push(dx, dy);
            function draw() {
              const started = performance.now();
              pixels.fill(0xffffffff);
              const [k, ox, oy] = toScreen();
              let drawn = 0;
              for (let o = 0; o < n; o++) {
                const i = order[o];
                const c = classIndex[i];
                if (hiddenMask[c]) continue;
                const px = Math.round(x[i] * k + ox), py = Math.round(oy - y[i] * k);
                if (px < -radius || py < -radius || px >= width + radius || py >= height + radius) { drawn++; continue; }
                const color = colors[c];
                if (px >= radius && py >= radius && px < width - radius && py < height - radius) {
                  const base = py * width + px;
                  for (let s = 0; s < stamp.length; s += 2) pixels[base + stamp[s + 1] * width + stamp[s]] = color;
                } else {
                  for (let s = 0; s < stamp.length; s += 2) {
                    const xx = px + stamp[s], yy = py + stamp[s + 1];
                    if (xx >= 0 && yy >= 0 && xx < width && yy < height) pixels[yy * width + xx] = color;
                  }
                }
                drawn++;
              }
              context.putImageData(image, 0, 0);
              state.drawn = drawn;
              canvas.dataset.drawnPoints = String(drawn);
              state.frames.push(performance.now() - started);
              if (state.frames.length > 1000) state.frames.shift();
            }
            function schedule() { if (!state.pending) { state.pending = true; requestAnimationFrame(() => { state.pending = false; draw(); }); } }
            let drag = null;
            canvas.addEventListener("mousedown", e => { drag = { x: e.clientX, y: e.clientY, cx: state.cx, cy: state.cy }; canvas.style.cursor = "grabbing"; });
            window.addEventListener("mouseup", () => { drag = null; canvas.style.cursor = "grab"; });
            canvas.addEventListener("wheel", e => {
              e.preventDefault();
              const rect = canvas.getBoundingClientRect();
              const [k, ox, oy] = toScreen();
              const mx = (e.clientX - rect.left) * scale, my = (e.clientY - rect.top) * scale;
              const dataX = (mx - ox) / k, dataY = (oy - my) / k;
              const factor = Math.exp(Math.max(-1, Math.min(1, e.deltaY * 0.002)));
              state.span = Math.min(view0.span * 4, Math.max(view0.span / 5000, state.span * factor));
              const k2 = Math.min(width, height) / state.span;
              state.cx = dataX - (mx - width / 2) / k2; state.cy = dataY + (my - height / 2) / k2;
              schedule();
            }, { passive: false });
            canvas.addEventListener("dblclick", () => { state.cx = view0.cx; state.cy = view0.cy; state.span = view0.span; schedule(); });
            function nearest(mx, my) {
              const [k, ox, oy] = toScreen();
              let best = -1, bestDistance = (6 * scale) ** 2;
              for (let i = 0; i < n; i++) {
                if (hiddenMask[classIndex[i]]) continue;
                const dx = x[i] * k + ox - mx, dy = oy - y[i] * k - my, d = dx * dx + dy * dy;
                if (d < bestDistance) { bestDistance = d; best = i; }
              }
              return best;
            }
            let atlas = null;
            if (data.thumbnails) {
              const img = new Image();
              img.onload = () => { atlas = document.createElement("canvas"); atlas.width = img.width; atlas.height = img.height; atlas.getContext("2d").drawImage(img, 0, 0); view.dataset.thumbnailsReady = "true"; };
              img.src = "data:image/png;base64," + view.querySelector("script.scatter-thumbnails").textContent.trim();
            }
            canvas.addEventListener("mousemove", e => {
              const rect = canvas.getBoundingClientRect();
              if (drag) {
                const k = Math.min(width, height) / state.span;
                state.cx = drag.cx - (e.clientX - drag.x) * scale / k; state.cy = drag.cy + (e.clientY - drag.y) * scale / k;
                tooltip.style.display = "none"; schedule(); return;
              }
              const i = nearest((e.clientX - rect.left) * scale, (e.clientY - rect.top) * scale);
              if (i < 0) { tooltip.style.display = "none"; delete tooltip.dataset.index; return; }
              const label = labels ? labels[i] : null;
              const name = label !== null && data.classNames && data.classNames[label] !== undefined ? data.classNames[label] : label;
              tooltip.querySelector(".text").textContent = "#" + indices[i] + (label !== null ? " · " + name : "");
              tooltip.dataset.index = String(indices[i]);
              if (label !== null) tooltip.dataset.label = String(label); else delete tooltip.dataset.label;
              if (atlas) {
                const t = data.thumbnails, sx = (i % t.columns) * t.width, sy = Math.floor(i / t.columns) * t.height;
                thumb.width = t.width * 3; thumb.height = t.height * 3; thumb.style.display = "block";
                const g = thumb.getContext("2d"); g.imageSmoothingEnabled = false;
                g.drawImage(atlas, sx, sy, t.width, t.height, 0, 0, thumb.width, thumb.height);
                thumb.dataset.index = String(indices[i]);
              } else { thumb.style.display = "none"; }
              tooltip.style.display = "block";
              tooltip.style.left = Math.min(e.clientX - rect.left + 14, rect.width - 120) + "px";
              tooltip.style.top = (e.clientY - rect.top + 14) + "px";
            });
            canvas.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
            view.querySelectorAll(".legend button").forEach(button => button.addEventListener("click", () => {
              const c = Number(button.dataset.class);
              if (hidden.has(c)) hidden.delete(c); else hidden.add(c);
              hiddenMask[classOf.get(c)] = hidden.has(c) ? 1 : 0;
              button.setAttribute("aria-pressed", hidden.has(c) ? "false" : "true");
              tooltip.style.display = "none";
              schedule();
            }));
            view.querySelectorAll(".legend .swatch").forEach(s => { const c = Number(s.dataset.class); s.style.background = palette[classes.indexOf(c) % palette.length]; });
            const api = { view, canvas, state, draw, x, y, labels, indices, total: data.totalPoints, get hidden() { return Array.from(hidden); },
              zoom(factor) { state.span *= factor; draw(); },
              reset() { state.cx = view0.cx; state.cy = view0.cy; state.span = view0.span; draw(); },
              screenOf(i) { const [k, ox, oy] = toScreen(); const rect = canvas.getBoundingClientRect(); return [rect.left + (x[i] * k + ox) / scale, rect.top + (oy - y[i] * k) / scale]; },
              pointNear(label) { for (let o = 0; o < n; o++) { const i = order[n - 1 - o]; if (!labels || labels[i] === label) return i; } return -1; } };
            report.scatters.push(api);
            resize(); draw();
            window.addEventListener("resize", () => { resize(); draw(); });
          });

          // Curves: the values at the cursor.
          document.querySelectorAll("svg.curves").forEach(svg => {
            const series = JSON.parse(svg.dataset.series);
            const readout = svg.parentElement.querySelector(".readout");
            const frame = JSON.parse(svg.dataset.frame);
            const cursor = svg.querySelector("line.cursor");
            svg.addEventListener("mousemove", e => {
              const rect = svg.getBoundingClientRect();
              const px = (e.clientX - rect.left) * (frame.width / rect.width);
              const xv = frame.x0 + (px - frame.left) / (frame.right - frame.left) * (frame.x1 - frame.x0);
              const parts = [];
              for (const s of series) {
                let best = 0; for (let i = 1; i < s.x.length; i++) if (Math.abs(s.x[i] - xv) < Math.abs(s.x[best] - xv)) best = i;
                parts.push(s.name + " " + Number(s.y[best]).toPrecision(5) + " at " + frame.xLabel + " " + s.x[best]);
                cursor.setAttribute("x1", px); cursor.setAttribute("x2", px); cursor.style.display = "";
              }
              readout.textContent = parts.join(" · ");
            });
            svg.addEventListener("mouseleave", () => { readout.textContent = ""; cursor.style.display = "none"; });
            report.charts.push(svg);
          });
          document.body.dataset.ready = "true";
        })();
        """#
}
