// Stages module.
