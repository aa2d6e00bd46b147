#!/usr/bin/python
"""Print an Ansible warning (the run goes on): the validation play's way to name a risk."""

from __future__ import annotations

DOCUMENTATION = r"""
module: minispark_warning
short_description: Show a [WARNING] line in the playbook's output and change nothing
description:
  - The validation play uses it when the inventory turns a protection off, so that the risk is
    named in the output's warnings (where the operator looks) and the run continues.
options:
  msg: {type: str, required: true, description: The warning.}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={"msg": {"type": "str", "required": True}}, supports_check_mode=True
    )
    module.warn(module.params["msg"])
    module.exit_json(changed=False)


if __name__ == "__main__":
    main()
