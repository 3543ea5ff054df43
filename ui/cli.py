"""The `normalcy` command line: a thin front end over the assistant's use cases.

Heavy libraries are imported inside the commands that need them, so `normalcy --help` and the error
paths start fast. Operator errors (`NormalcyError`) print one line on stderr and exit 2; anything else
is an internal error, exit 1 (run with -v for the traceback).
"""

from __future__ import annotations

import sys

import click

from retrieval.errors import NormalcyError


class Context:
    """What every command needs: the data home and the configuration, and the objects built from them."""

    def __init__(self, home: str | None, config: str | None, verbose: bool):
        from assistant.config import load_config
        from assistant.home import Home

        self.home = Home.resolve(home)
        self.config = load_config(config)
        self.verbose = verbose
        self._inspector = None

    def use_model(self, spec: str) -> None:
        """Override the configured VLM (preset name or local folder) for this command."""
        from dataclasses import replace

        self.config = replace(self.config, vlm=replace(self.config.vlm, model=spec))
        self._inspector = None

    @property
    def inspector(self):
        if self._inspector is None:
            from assistant.inspector import Inspector

            self._inspector = Inspector(self.config, self.home)
        return self._inspector


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="NORMALCY_HOME",
              help="Data home (store, calibration, run log). Default: $NORMALCY_HOME or ~/.normalcy")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML overriding the defaults.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx, home, config_path, verbose):
    """Normalcy: a local inspection assistant. Is this part defective, and why?"""
    ctx.obj = Context(home, config_path, verbose)


def _register() -> None:
    from ui.calibration_command import calibration
    from ui.demo_command import demo
    from ui.doctor_command import doctor
    from ui.eval_command import evaluate
    from ui.history_command import history
    from ui.ingest_command import ingest
    from ui.inspect_command import inspect
    from ui.models_command import models
    from ui.normal_command import normal
    from ui.rules_command import rules
    from ui.serve_command import serve
    from ui.store_command import store

    for command in (ingest, rules, normal, inspect, evaluate, serve, demo, models, doctor, history, calibration,
                    store):
        if command.name not in cli.commands:
            cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: maps errors to exit codes (2 operator error, 1 internal error, 130 interrupted)."""
    import retrieval.offline  # noqa: F401  (before anything heavy is imported)

    _register()
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="normalcy", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("interrupted", err=True)
        return 130
    except NormalcyError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted; finished work is kept, re-run the command to continue", err=True)
        return 130
    except Exception as exc:  # the one place internal errors become an exit code
        if verbose:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback)", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
