#!/usr/bin/python
"""A secret file in the controller's credentials directory: made once, kept, rotated."""

from __future__ import annotations

DOCUMENTATION = r"""
module: minispark_secret
short_description: Keep one minispark secret file (one secret a line) on the controller
description:
  - Runs on the controller. The file holds one secret a line, as the daemons read it: the first
    line is the one presented, every line is accepted.
  - C(state=present) with I(value) writes exactly that secret; without it the file is kept
    as it is, or made with a new random secret (32 random bytes, URL-safe base64) when missing
    or empty.
  - Rotation runs in steps, each resumable after an interruption. C(staged) makes
    C(<path>.next) hold "new, old" (a new secret first, then the current one), reusing a
    staged file or, when I(path) already holds two secrets, those. C(promoted) moves
    C(<path>.next) over I(path). C(finished) keeps only the first line of I(path).
  - The file and its directory are mode 0600 and 0700. Secrets are never returned.
    Supports check mode; C(changed) is true exactly when a file was (or would be) written.
options:
  path: {type: path, required: true, description: The secret file.}
  value: {type: str, default: "", no_log: true, description: The secret to write (present).}
  state:
    type: str
    default: present
    choices: [present, staged, promoted, finished]
    description: What to make of the file (see the description).
"""

RETURN = r"""
lines: {description: How many secrets the file holds afterwards, returned: always, type: int}
"""

import base64  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def generate() -> str:
    """32 random bytes as URL-safe base64 without padding: one line, no shell or YAML quoting."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def lines_of(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return []


class SecretFile:
    """Every write goes through put(), which honours check mode and keeps the modes."""

    def __init__(self, path: str, check_mode: bool) -> None:
        self.path = path
        self.next = path + ".next"
        self.check = check_mode
        self.changed = False

    def ensure_dir(self) -> None:
        directory = os.path.dirname(self.path) or "."
        if not os.path.isdir(directory):
            self.changed = True
            if not self.check:
                os.makedirs(directory, mode=0o700)
        elif os.stat(directory).st_mode & 0o777 != 0o700:
            self.changed = True
            if not self.check:
                os.chmod(directory, 0o700)

    def put(self, path: str, secrets_: list[str]) -> None:
        data = "".join(f"{s}\n" for s in secrets_)
        try:
            with open(path, encoding="utf-8") as f:
                same = f.read() == data and os.stat(path).st_mode & 0o777 == 0o600
        except FileNotFoundError:
            same = False
        if same:
            return
        self.changed = True
        if self.check:
            return
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def remove(self, path: str) -> None:
        if os.path.exists(path):
            self.changed = True
            if not self.check:
                os.unlink(path)

    def present(self, value: str) -> list[str]:
        current = lines_of(self.path)
        wanted = [value] if value else current or [generate()]
        self.put(self.path, wanted)
        return wanted

    def staged(self) -> list[str]:
        staged = lines_of(self.next)
        current = lines_of(self.path)
        if len(staged) >= 2:
            wanted = staged[:2]  # an interrupted rotation resumes with the same new secret
        elif len(current) >= 2:
            wanted = current[:2]  # phase 1 finished before: every host accepts both already
        elif current:
            wanted = [generate(), current[0]]
        else:
            raise ValueError(f"{self.path} is missing: run site.yml first, which makes it")
        self.put(self.next, wanted)
        return wanted

    def promoted(self) -> list[str]:
        staged = lines_of(self.next)
        if not staged:
            return lines_of(self.path)  # already promoted by an earlier, interrupted run
        self.put(self.path, staged)
        self.remove(self.next)
        return staged

    def finished(self) -> list[str]:
        current = lines_of(self.path)
        if not current:
            raise ValueError(f"{self.path} is missing: run site.yml first, which makes it")
        self.put(self.path, current[:1])
        return current[:1]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "value": {"type": "str", "default": "", "no_log": True},
            "state": {
                "type": "str",
                "default": "present",
                "choices": ["present", "staged", "promoted", "finished"],
            },
        },
        supports_check_mode=True,
    )
    value = module.params["value"].strip()
    if "\n" in value:
        module.fail_json(msg="minispark_auth_secret must be one line (no newline inside)")
    secret_file = SecretFile(module.params["path"], module.check_mode)
    secret_file.ensure_dir()
    state = module.params["state"]
    try:
        if state == "present":
            written = secret_file.present(value)
        else:
            written = getattr(secret_file, state)()
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=secret_file.changed, lines=len(written))


if __name__ == "__main__":
    main()
