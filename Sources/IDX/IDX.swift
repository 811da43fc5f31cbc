// IDX module.
