"""Test and benchmark support, outside the installed package: a real ``evorec serve`` process on loopback
(``live_server``) and a bounded closed-loop HTTP load generator (``loadgen``). Benchmarks import it as a sibling
package; pytest has ``benchmarks`` on its ``pythonpath``."""
