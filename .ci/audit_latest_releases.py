"""What pip-audit can still check where PyPI's per-release JSON API (pypi.org/pypi/<project>/<version>/json) is not
reachable, as on this CI's network: PyPI's project JSON API (pypi.org/pypi/<project>/json) lists the known
vulnerabilities (PyPA advisories, via OSV) of each project's latest release. For every installed distribution that is
its project's latest release that list is exactly what pip-audit would check; the others are named as not audited.

Exit 1 when a known vulnerability affects an installed release; 0 otherwise, saying in Chinese what was not audited.
Run with the virtualenv's Python: .venv/bin/python .ci/audit_latest_releases.py
"""

import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


class Unreachable(Exception):
    pass


def project(name):
    """PyPI's project data, None where PyPI has no such project (a package installed from elsewhere)."""
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise Unreachable(f"HTTP {error.code}") from error
    except (OSError, ValueError) as error:
        raise Unreachable(str(error)) from error


def answer_for(name):
    try:
        return project(name)
    except Unreachable as error:
        return error


def newest_of_series(answer, version):
    """Whether `version` is the newest release of its own major.minor series (Django's LTS line, say)."""
    mine = Version(version)
    series = []
    for text, files in answer.get("releases", {}).items():
        try:
            release = Version(text)
        except InvalidVersion:
            continue
        if release.release[:2] == mine.release[:2] and not release.is_prerelease and any(not f.get("yanked") for f in files):
            series.append(release)
    return bool(series) and max(series) == mine


def series_note(answer, version):
    mine = Version(version)
    if len(mine.release) < 2 or not newest_of_series(answer, version):  # 20241021: no series to speak of
        return ""
    return "，是其 {}.{} 系列的最新修补版本".format(*mine.release[:2])


def main():
    try:
        project("pip")
    except Unreachable as error:  # one message, rather than a timeout per package
        print(f"!! 无法访问 PyPI 的项目数据（{error}），本次未能审计依赖。", file=sys.stderr)
        return 0
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    with ThreadPoolExecutor(8) as pool:
        answers = dict(zip(installed, pool.map(answer_for, installed), strict=True))
    found, not_latest, unreachable, unknown = [], [], [], []
    for name, version in sorted(installed.items()):
        answer = answers[name]
        if isinstance(answer, Unreachable):
            unreachable.append(name)
        elif answer is None:
            unknown.append(name)
        elif Version(answer["info"]["version"]) != Version(version):
            not_latest.append(f"{name} {version}（最新 {answer['info']['version']}{series_note(answer, version)}）")
        else:
            found += [(name, version, v) for v in answer.get("vulnerabilities") or [] if not v.get("withdrawn")]
    audited = len(installed) - len(not_latest) - len(unreachable) - len(unknown)
    print(f"已按 PyPI 项目数据审计 {audited} / {len(installed)} 个已安装的包（均为各自的最新版本）。")
    for name, version, vulnerability in found:
        fixed = "、".join(vulnerability.get("fixed_in") or []) or "尚无修复版本"
        print(f"!! {name} {version} 有已知漏洞 {vulnerability['id']}（修复版本：{fixed}）", file=sys.stderr)
    for label, names in (("不是最新版本，项目数据不含其漏洞", not_latest), ("PyPI 上没有此项目", unknown),
                         ("访问 PyPI 失败", unreachable)):
        if names:
            print(f"未能审计（{label}）：" + "；".join(names), file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
