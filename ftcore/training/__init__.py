"""Training: LoRA, QLoRA and full fine-tuning as resumable jobs with live progress.

What the Train tab and the CLI call:

- `jobs.start_run(db, config)`, `jobs.stop_run(run_dir)`, `jobs.resume_run(db, run_dir)`,
  `jobs.run_status(run_dir, db)`, `jobs.list_runs(db)`: jobs in their own process, recorded
  in the caller's database (the job itself writes only its run folder);
- `jobs.train_in_foreground(db, config)`: a run in the calling process, recorded the same way;
- `runfiles.read_progress(run_dir)`, `runfiles.log_tail(run_dir)`: live curves and log;
- `memory.estimate_for_config(config)`: peak GPU memory before starting;
- `presets.preset_config(name, ...)`: the starter recipe and its variants;
- `config.setting_help(name)`, `config.setting_flag(name)`, `config.command_line(config)`:
  each setting described once, and the equivalent `ftcore train` command;
- `weights.export_merged(run_dir, out_dir)`: merge and export a standalone model;
- `execute.train(config)`: a run in the calling process that touches no database (the
  job's own entry point).
"""
