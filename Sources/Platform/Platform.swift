// Platform: PC devices, firmware tables and image loaders.
