// Tracing: VM-exit events per level, statistics and export.
