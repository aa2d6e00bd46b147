"""inventory/sample/group_vars/all.yml: every role default, commented out, with its comment.

The roles' defaults/main.yml files are the source; this writes them out for operators so
that the sample inventory shows every setting and cannot drift from the code (a unit test
compares the two).

    python3 -m minispark.deploy.samplevars        # rewrite the file
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGET = REPO / "inventory" / "sample" / "group_vars" / "all.yml"
# In the order an operator meets them: shared settings first, then by tier.
ROLES = (
    "minispark",
    "zookeeper",
    "common",
    "minispark_master",
    "minispark_worker",
    "minispark_history",
    "preflight",
)
HEADER = """---
# Every setting of the distribution with its default, commented out. Uncomment and change
# what your site needs; per-host values go in hosts.yml or host_vars/<host>.yml.
# Generated from roles/*/defaults/main.yml by `python3 -m minispark.deploy.samplevars`;
# the roles' READMEs say more about each setting.
"""


def _commented(defaults: str) -> list[str]:
    lines = []
    for line in defaults.splitlines():
        if line.strip() == "---":
            continue
        lines.append(line if line.startswith("#") or not line.strip() else f"# {line}")
    return lines


def render(repo: Path = REPO) -> str:
    out = [HEADER]
    for role in ROLES:
        title = f"# ======== role {role} "
        out.append(title + "=" * (92 - len(title)))
        out += _commented((repo / "roles" / role / "defaults" / "main.yml").read_text())
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET.relative_to(REPO)}")
