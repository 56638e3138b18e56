"""What pip-audit can still check where PyPI's per-release JSON API (pypi.org/pypi/<project>/<version>/json) is not
reachable, as on this CI's network: PyPI's project JSON API (pypi.org/pypi/<project>/json) lists the known
vulnerabilities (PyPA advisories, via OSV) of each project's latest release. For every installed distribution that is
its project's latest release that list is exactly what pip-audit would check; the others are named as not audited.

Exit 1 when a known vulnerability affects an installed release; 0 otherwise, saying in Chinese what was not audited.
Run with the virtualenv's Python: .venv/bin/python .ci/audit_latest_releases.py
"""

import json
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


def project(name):
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as response:
            return json.load(response)
    except Exception as error:  # noqa: BLE001 (any network or HTTP failure: that project is not audited)
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


def main():
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    with ThreadPoolExecutor(8) as pool:
        answers = dict(zip(installed, pool.map(project, installed), strict=True))
    found, not_latest, unreachable = [], [], []
    for name, version in sorted(installed.items()):
        answer = answers[name]
        if isinstance(answer, Exception):
            unreachable.append(name)
        elif answer["info"]["version"] != version:
            same_series = "，是其 {}.{} 系列的最新修补版本".format(*Version(version).release[:2]) \
                if newest_of_series(answer, version) else ""
            not_latest.append(f"{name} {version}（最新 {answer['info']['version']}{same_series}）")
        else:
            found += [(name, version, v) for v in answer.get("vulnerabilities") or [] if not v.get("withdrawn")]
    audited = len(installed) - len(not_latest) - len(unreachable)
    print(f"已按 PyPI 项目数据审计 {audited} / {len(installed)} 个已安装的包（均为各自的最新版本）。")
    for name, version, vulnerability in found:
        fixed = "、".join(vulnerability.get("fixed_in") or []) or "尚无修复版本"
        print(f"!! {name} {version} 有已知漏洞 {vulnerability['id']}（修复版本：{fixed}）", file=sys.stderr)
    if not_latest:
        print("未能审计（不是最新版本，项目数据不含其漏洞）：" + "；".join(not_latest), file=sys.stderr)
    if unreachable:
        print("未能审计（无法访问 PyPI）：" + "、".join(unreachable), file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
