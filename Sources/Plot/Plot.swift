// Plot module.
