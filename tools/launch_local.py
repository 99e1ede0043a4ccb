"""Start a `--distribute` command as several processes on this machine, the way each backend's
engine expects (what a cluster's launcher does across hosts):

- JAX: one process per `KERAS_DISTRIBUTION_PROCESS_ID`, with the coordinator on 127.0.0.1;
- TensorFlow: one process per worker of a `TF_CONFIG` listing localhost ports;
- PyTorch: `torchrun --standalone --nproc-per-node N` (gloo on CPU).

    KERAS_BACKEND=jax python tools/launch_local.py --processes 2 \
        recipes/gan.py --distribute --epochs 5

Process 0's output is shown (the others are silent by design); the exit code is the first
non-zero one. `launch()` is the same, for tests and tools/distributed_speed.py.
"""

import argparse
import json
import os
import socket
import subprocess
import sys


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(command, processes=2, env=None, capture=True, timeout=None):
    """Run `python *command` as `processes` processes of one distributed run on localhost,
    for the backend `KERAS_BACKEND` names (in `env`, else this process's environment).

    -> [(returncode, stdout, stderr)]: one per process, or one for torchrun (which starts
    and watches them itself); stdout and stderr are None unless `capture`.
    """
    env = dict(os.environ if env is None else env)
    command = [str(part) for part in command]
    output = subprocess.PIPE if capture else None
    if env.get("KERAS_BACKEND", "tensorflow") == "torch":
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--standalone",  # its own port
                f"--nproc-per-node={processes}",
                *command,
            ],
            env=env,
            stdout=output,
            stderr=output,
            text=True,
            timeout=timeout,
        )
        return [(result.returncode, result.stdout, result.stderr)]
    ports = [free_port() for _ in range(processes)]
    running = []
    for index in range(processes):
        if env.get("KERAS_BACKEND") == "jax":
            own = {
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{ports[0]}",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": str(processes),
                "KERAS_DISTRIBUTION_PROCESS_ID": str(index),
            }
        else:
            own = {
                "TF_CONFIG": json.dumps(
                    {
                        "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                        "task": {"type": "worker", "index": index},
                    }
                )
            }
        running.append(
            subprocess.Popen(
                [sys.executable, *command],
                env={**env, **own},
                stdout=output,
                stderr=output,
                text=True,
            )
        )
    results = []
    for process in running:
        stdout, stderr = process.communicate(timeout=timeout)
        results.append((process.returncode, stdout, stderr))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, help="the script and its flags (include --distribute)"
    )
    args = parser.parse_args()
    if not args.command:
        parser.error("give the script to run, e.g. recipes/gan.py --distribute")
    results = launch(args.command, args.processes, capture=False)
    raise SystemExit(next((code for code, _, _ in results if code), 0))


if __name__ == "__main__":
    main()
