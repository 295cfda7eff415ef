"""Maps the repository's top-level folders (agent/, tools/, ...) onto the `evorec.*` namespace.

pyproject.toml holds all metadata; this file only computes the package list, which
declarative config cannot prefix.
"""

from setuptools import find_packages, setup

TOP = ["agent", "tools", "prompts", "serving", "evals"]
found = find_packages(include=[f"{t}" for t in TOP] + [f"{t}.*" for t in TOP])
own = find_packages(include=["evorec", "evorec.*"])  # evorec/ itself: evorec, evorec.integrations, ...
# data-only folders inside a package are listed as packages too (setuptools warns about, and may drop, the rest)
found += ["evals.scenarios", "evals.preference_set", "serving.web"]
packages = [*own, *(f"evorec.{p}" for p in found)]
package_dir = {"evorec": "evorec", **{f"evorec.{p}": p.replace(".", "/") for p in found}}

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={
        "evorec.prompts": ["*.md", "*.txt"],
        "evorec.serving.web": ["*"],
        "evorec.evals.scenarios": ["*.jsonl"],
        "evorec.evals.preference_set": ["*.jsonl"],
    },
    include_package_data=True,
)
