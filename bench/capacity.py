"""The mix's capacity (issue 14): users raised step by step until the pages' p95 passes 250 ms, against the bare
view's throughput measured in the same run.

Run against `make serve` on the load-test database (docs/benchmarks.md「负载测试」), with Locust in its own
virtualenv (pip install locust==2.47.0):

    GUNICORN_BIND=127.0.0.1:8765 GUNICORN_ACCESSLOG= make serve        # in another shell
    flock /tmp/bench.lock /tmp/locust-venv/bin/python bench/capacity.py -H http://127.0.0.1:8765 \\
        --start 20 --step 20 --measure 60

It runs Locust twice: first the mix of bench/locustfile.py (fillers and reviewers, three to one) with users added
`--step` at a time; each step waits until its new users have logged in (PBKDF2, timed apart), lets them settle,
then measures `--measure` seconds: requests per second (every request of the mix) and the p95 of the page loads
(every request named 页面：…, together, and the worst page on its own). It stops at the first step whose page p95
passes the limit. Then the bare view (/healthz, no session, one SELECT 1; locustfile.CeilingUser) as fast as 40 users will go, for
`--ceiling` seconds. The capacity is the throughput of the last step within the limit, divided by the bare view's.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIMIT_MS = 250

if __name__ != "__main__":  # imported by Locust as its locustfile: the stepped mix
    import logging

    import locustfile
    from locust import LoadTestShape, events
    from locust.stats import StatsEntry
    from locustfile import FillerUser, ReviewerUser  # noqa: F401  (the user classes Locust runs)

    STEPS = []

    class StepShape(LoadTestShape):
        """Adds `start`, then `step` users at a time; each step measured once its users are logged in."""

        def __init__(self):
            super().__init__()
            self.users = int(os.environ["CAPACITY_START"])
            self.step = int(os.environ["CAPACITY_STEP"])
            self.measure = float(os.environ["CAPACITY_MEASURE"])
            self.limit = int(os.environ.get("CAPACITY_MAX_USERS", "1000"))
            self.phase, self.since = "spawning", time.monotonic()

        def tick(self):
            now = time.monotonic()
            stats = self.runner.stats
            if self.phase == "spawning" and len(locustfile.LOGINS) >= self.users:
                self.phase, self.since = "settling", now
            elif self.phase == "settling" and now - self.since >= 5:
                stats.reset_all()
                self.phase, self.since = "measuring", now
            elif self.phase == "measuring" and now - self.since >= self.measure:
                step = snapshot(stats, self.users, now - self.since)
                STEPS.append(step)
                logging.info("%(users)d 人：%(rps).1f 次/秒，页面 p95 %(page_p95)d ms（最慢的页面 %(worst_page)s %(worst_p95)d ms），"
                             "失败 %(failures)d", step)
                if step["page_p95"] > LIMIT_MS or self.users + self.step > self.limit:
                    return None
                self.users += self.step
                self.phase, self.since = "spawning", now
            return self.users, max(self.step, 10)

    def snapshot(stats, users, seconds):
        pages = StatsEntry(stats, "页面", "GET")
        worst = ("—", 0)
        for (name, _method), entry in stats.entries.items():
            if name.startswith("页面"):
                pages.extend(entry)
                p95 = entry.get_response_time_percentile(0.95) or 0
                if p95 > worst[1]:
                    worst = (name, p95)
        total = stats.total
        return {"users": users, "seconds": round(seconds, 1), "requests": total.num_requests,
                "rps": total.num_requests / seconds, "failures": total.num_failures,
                "page_p95": pages.get_response_time_percentile(0.95) or 0, "page_median": pages.median_response_time,
                "worst_page": worst[0], "worst_p95": worst[1]}

    @events.quitting.add_listener
    def write_steps(environment, **kwargs):
        if os.environ.get("CAPACITY_OUT") and STEPS:
            Path(os.environ["CAPACITY_OUT"]).write_text(json.dumps(STEPS, ensure_ascii=False))


def locust(host, locustfile, *arguments, env=None):
    command = [sys.executable, "-m", "locust", "-f", str(HERE / locustfile), "--headless", "-H", host,
               "--only-summary", *arguments]
    return subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True, cwd=HERE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-H", "--host", default="http://127.0.0.1:8765")
    parser.add_argument("--start", type=int, default=20)
    parser.add_argument("--step", type=int, default=20)
    parser.add_argument("--measure", type=float, default=60)
    parser.add_argument("--max-users", type=int, default=400)
    parser.add_argument("--ceiling", type=float, default=30)
    arguments = parser.parse_args()
    out = HERE.parent / "var" / f"capacity-{int(time.time())}.json"
    out.parent.mkdir(exist_ok=True)
    started = time.strftime("%H:%M:%S", time.gmtime())
    load = os.getloadavg()[0]
    mix = locust(arguments.host, "capacity.py", "FillerUser", "ReviewerUser", env={
        "CAPACITY_START": str(arguments.start), "CAPACITY_STEP": str(arguments.step),
        "CAPACITY_MEASURE": str(arguments.measure), "CAPACITY_MAX_USERS": str(arguments.max_users),
        "CAPACITY_OUT": str(out)})
    if not out.exists():
        sys.exit(f"混合负载没有测出结果：\n{mix.stderr[-3000:]}")
    steps = json.loads(out.read_text())
    ceiling_csv = out.with_suffix("")
    bare = locust(arguments.host, "locustfile.py", "-u", "40", "-r", "40", "-t", f"{int(arguments.ceiling)}s", "--csv",
                  str(ceiling_csv), "CeilingUser")
    rows = (Path(f"{ceiling_csv}_stats.csv").read_text().splitlines() if Path(f"{ceiling_csv}_stats.csv").exists()
            else [])
    aggregated = [line for line in rows if ",Aggregated," in line]
    if not aggregated:
        sys.exit(f"裸视图没有测出结果：\n{bare.stderr[-3000:]}")
    header = rows[0].split(",")
    bare_rps = float(aggregated[0].split(",")[header.index("Requests/s")])
    print(f"开始 {started} UTC，负载 {load:.2f}；每步测量 {arguments.measure:.0f} 秒")
    print("| 用户 | 次/秒 | 页面中位 ms | 页面 p95 ms | 最慢的页面 p95 | 失败 |")
    print("|---:|---:|---:|---:|---|---:|")
    for step in steps:
        print(f"| {step['users']} | {step['rps']:.1f} | {step['page_median']:.0f} | {step['page_p95']:.0f} | "
              f"{step['worst_page']} {step['worst_p95']:.0f} | {step['failures']} |")
    within = [step for step in steps if step["page_p95"] <= LIMIT_MS]
    print(f"裸视图 /healthz：{bare_rps:.0f} 次/秒（40 人，{arguments.ceiling:.0f} 秒）")
    if not within:
        print(f"第一步（{steps[0]['users']} 人）页面 p95 已超过 {LIMIT_MS} ms：容量不足 {steps[0]['rps'] / bare_rps:.3f}")
        return
    best = within[-1]
    print(f"容量：{best['users']} 人时 {best['rps']:.1f} 次/秒（页面 p95 {best['page_p95']:.0f} ms ≤ {LIMIT_MS} ms），"
          f"为裸视图的 {best['rps'] / bare_rps:.3f}")


if __name__ == "__main__":
    main()
