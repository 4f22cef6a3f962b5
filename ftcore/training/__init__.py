"""Training: LoRA, QLoRA and full fine-tuning as resumable jobs with live progress.

What the Train tab and the CLI call:

- `jobs.start_run(config)`, `jobs.stop_run(run_dir)`, `jobs.resume_run(run_dir)`,
  `jobs.run_status(run_dir)`, `jobs.list_runs(home)`: jobs in their own process;
- `runfiles.read_progress(run_dir)`, `runfiles.log_tail(run_dir)`: live curves and log;
- `memory.estimate_for_config(config)`: peak GPU memory before starting;
- `presets.preset_config(name, ...)`, `presets.KNOB_HELP`: the starter recipe and help;
- `config.command_line(config)`: the equivalent `ftcore train` command;
- `outputs.export_merged(run_dir, out_dir)`: merge and export a standalone model;
- `run.train(config)`: a run in the calling process (the job's own entry point).
"""
