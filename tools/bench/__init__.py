"""ccbot performance bench: ``python -m tools.bench [--quick] [--json OUT.json]``.

Measures the running bot (a subprocess) against the fake Telegram server (``tools.fakegram``, in this
process) and a real tmux server whose windows run a synthetic Codex (``tools.bench.fake_codex``), plus
offline throughput figures. See ``doc/performance.md`` for what each figure means and the results.

Module map: ``stats`` (percentiles), ``lines`` (synthetic Codex 0.169 rollout lines), ``fake_codex`` (the
program in each tmux pane), ``procstat`` (/proc CPU and memory readings), ``offline`` (parse and
session-index throughput), ``live`` (the bot runs: latency, idle cost, burst), ``realcodex`` (one run with
the real Codex CLI), ``conversation`` (conversation scenarios with the real Codex CLI under Telegram's budget:
``--conversation``), ``codestate`` (which code a run measured), ``report`` (table and JSON), ``__main__``
(orchestration).
"""
