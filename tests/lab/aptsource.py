"""This machine's apt configuration: the Debian mirror for debootstrap, the files hosts get.

The mirror is read, never written down: the lab must use whatever source the machine uses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.lab.errors import LabError

APT_DIR = Path("/etc/apt")
MIRROR_ENV = "MINISPARK_LAB_MIRROR"


def machine_suite(os_release: Path = Path("/etc/os-release")) -> str:
    """The Debian codename of this machine (the image uses the same release)."""
    for line in os_release.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "VERSION_CODENAME" and value.strip('"'):
            return value.strip('"')
    raise LabError(f"no VERSION_CODENAME in {os_release}; the lab needs a Debian machine")


def debian_mirror(
    suite: str, apt_dir: Path = APT_DIR, environ: Mapping[str, str] = os.environ
) -> str:
    """The URI of the first enabled `deb` source that carries `suite` with component main."""
    if environ.get(MIRROR_ENV):
        return environ[MIRROR_ENV]
    for source in _sources(apt_dir):
        if (
            "deb" in source.get("types", [])
            and suite in source.get("suites", [])
            and ("main" in source.get("components", []))
        ):
            return source["uris"][0]
    raise LabError(
        f"no apt source for {suite} main in {apt_dir}; set {MIRROR_ENV} to a Debian mirror URI"
    )


def host_apt_files(apt_dir: Path = APT_DIR) -> list[Path]:
    """Files to copy into each host so that its apt reaches packages the way this machine does."""
    files = [path for path in _source_files(apt_dir)]
    for pattern in ("apt.conf", "apt.conf.d/*", "trusted.gpg.d/*", "preferences.d/*"):
        files.extend(path for path in sorted(apt_dir.glob(pattern)) if path.is_file())
    for source in _sources(apt_dir):
        for keyring in source.get("signed-by", []):
            if keyring.startswith("/") and Path(keyring).is_file():
                files.append(Path(keyring))
    return list(dict.fromkeys(files))


def _source_files(apt_dir: Path) -> list[Path]:
    candidates = [apt_dir / "sources.list"]
    candidates += sorted((apt_dir / "sources.list.d").glob("*.list"))
    candidates += sorted((apt_dir / "sources.list.d").glob("*.sources"))
    return [path for path in candidates if path.is_file()]


def _sources(apt_dir: Path) -> Iterator[dict[str, list[str]]]:
    for path in _source_files(apt_dir):
        text = path.read_text()
        yield from parse_deb822(text) if path.suffix == ".sources" else parse_one_line(text)


def parse_deb822(text: str) -> Iterator[dict[str, list[str]]]:
    """Stanzas of a .sources file as lower-cased keys to word lists; disabled ones left out."""
    stanza: dict[str, list[str]] = {}
    key = ""
    for line in [*text.splitlines(), ""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza and stanza.get("enabled", ["yes"])[0].lower() != "no":
                yield stanza
            stanza = {}
        elif line[0].isspace() and key:
            stanza[key] += line.split()
        else:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            stanza[key] = value.split()


def parse_one_line(text: str) -> Iterator[dict[str, list[str]]]:
    """Entries of a sources.list file in the same shape as parse_deb822's stanzas."""
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if len(words) < 3 or words[0] not in {"deb", "deb-src"}:
            continue
        options: dict[str, list[str]] = {}
        if words[1].startswith("["):
            end = next(i for i, word in enumerate(words) if word.endswith("]"))
            for option in " ".join(words[1 : end + 1]).strip("[]").split():
                name, _, value = option.partition("=")
                options[name.lower()] = value.split(",")
            words = [words[0], *words[end + 1 :]]
        yield {
            "types": [words[0]],
            "uris": [words[1]],
            "suites": [words[2]],
            "components": words[3:],
            **options,
        }
