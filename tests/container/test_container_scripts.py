"""The container runbook's host scripts (the contract in container_scripts.py, which
test_container_e2e.py checks the runbook sends word for word) run under /bin/sh against
stub docker, iptables and ip6tables that keep state: isolation drops the container's
addresses and disconnects it, a rerun changes nothing, pause/stop are idempotent, a
host-network container is refused, --release undoes it all."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("IRHOST_ROOT") or os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, HERE)
import tap  # noqa: E402
import container_scripts as S  # noqa: E402

CID = "9c4e2d1b7a30"
CHAIN = "IRHOST-" + CID

STUB = r'''#!/usr/bin/python3
import json, os, sys
STATE = os.environ["STUB_STATE"]
s = json.load(open(STATE))
name, a = os.path.basename(sys.argv[0]), sys.argv[1:]
s["log"].append([name] + a)
rc, out = 0, ""
def save():
    json.dump(s, open(STATE, "w"))
if name == "docker":
    c = s["container"]
    if a[:3] == ["inspect", "--type", "container"] and a[3] == "-f":
        if a[5] != c["id"]:
            save(); sys.stderr.write("Error: No such object: %s\n" % a[5]); sys.exit(1)
        t = a[4]
        if "NetworkMode" in t: out = c["mode"] + "\n"
        elif "range $n" in t: out = "".join(n + " " for n in c["connected"]) + "\n"
        elif "GlobalIPv6Address" in t: out = "".join(ip + " " for n, ip in c["ipv6"].items() if n in c["connected"]) + "\n"
        elif "IPAddress" in t: out = "".join(ip + " " for n, ip in c["ipv4"].items() if n in c["connected"]) + "\n"
        elif "State.Status" in t: out = c["status"] + "\n"
        elif "State.Paused" in t: out = ("true" if c["status"] == "paused" else "false") + "\n"
    elif a[:2] == ["network", "disconnect"]:
        n = a[-2]
        if n in c["connected"]: c["connected"].remove(n)
        else: rc = 1
    elif a[:2] == ["network", "connect"]:
        if a[2] in c["connected"]: rc = 1
        else: c["connected"].append(a[2])
    elif a[0] == "pause": c["status"] = "paused"
    elif a[0] == "unpause": c["status"] = "running"
    elif a[0] == "stop": c["status"] = "exited"
else:
    fw = s[name]
    op, chain, rest = a[0], a[1], a[2:]
    if op == "-n": op, chain, rest = a[1], a[2], []
    if op == "-L": rc = 0 if chain in fw else 1
    elif op == "-N":
        if chain in fw: rc = 1
        else: fw[chain] = []
    elif op == "-F":
        if chain in fw: fw[chain] = []
        else: rc = 1
    elif op == "-X": fw.pop(chain, None)
    elif op == "-A": fw[chain].append(" ".join(rest))
    elif op == "-I": fw[chain].insert(int(rest[0]) - 1, " ".join(rest[1:]))
    elif op in ("-C", "-D"):
        rule = " ".join(rest)
        if chain in fw and rule in fw[chain]:
            if op == "-D": fw[chain].remove(rule)
        else: rc = 1
save()
sys.stdout.write(out)
sys.exit(rc)
'''

TMP = tempfile.mkdtemp(prefix="irhost-container-scripts-")
BIN = os.path.join(TMP, "bin")
os.makedirs(BIN)
for n in ("docker", "iptables", "ip6tables"):
    with open(os.path.join(BIN, n), "w") as f:
        f.write(STUB)
    os.chmod(os.path.join(BIN, n), 0o755)
STATE_FILE = os.path.join(TMP, "state.json")
HOST_DIR = os.path.join(TMP, "host-state")


def world(mode="bridge"):
    return {"log": [], "container": {"id": CID, "mode": mode, "status": "running", "connected": ["bridge", "app-net"],
                                     "ipv4": {"bridge": "172.17.0.5", "app-net": "172.20.0.3"},
                                     "ipv6": {"app-net": "fd00::5"}},
            "iptables": {"INPUT": ["-j ACCEPT-SSH"], "DOCKER-USER": ["-j RETURN"]},
            "ip6tables": {"INPUT": []}}


def set_state(w):
    with open(STATE_FILE, "w") as f:
        json.dump(w, f)


def state():
    with open(STATE_FILE) as f:
        return json.load(f)


def sh(lines):
    script = "\n".join(lines).replace(S.STATE_DIR, HOST_DIR) + "\n"
    env = {"PATH": BIN + ":/usr/bin:/bin", "STUB_STATE": STATE_FILE, "LANG": "C"}
    return subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)


try:
    set_state(world())
    p = sh(S.isolate(CID))
    st = state()
    tap.check("isolate: exit 0", p.returncode == 0, p.stdout + p.stderr)
    drops = sorted(st["iptables"].get(CHAIN, []))
    tap.check("isolate: the chain drops both IPv4 addresses in both directions",
              drops == sorted(["-s 172.17.0.5 -j DROP", "-d 172.17.0.5 -j DROP", "-s 172.20.0.3 -j DROP", "-d 172.20.0.3 -j DROP"]), drops)
    tap.check("isolate: DOCKER-USER and INPUT jump to it first",
              st["iptables"]["DOCKER-USER"][0] == "-j " + CHAIN and st["iptables"]["INPUT"][0] == "-j " + CHAIN, st["iptables"])
    tap.check("isolate: IPv6 address dropped too (INPUT only where DOCKER-USER does not exist)",
              sorted(st["ip6tables"].get(CHAIN, [])) == ["-d fd00::5 -j DROP", "-s fd00::5 -j DROP"]
              and st["ip6tables"]["INPUT"] == ["-j " + CHAIN] and "DOCKER-USER" not in st["ip6tables"], st["ip6tables"])
    tap.check("isolate: disconnected from every network", st["container"]["connected"] == [], st["container"])
    tap.check("isolate: the networks are recorded on the host for --release",
              open(os.path.join(HOST_DIR, CID, "networks")).read().split() == ["bridge", "app-net"])
    tap.check("isolate: reports what it did", "irhost: isolated " + CID in p.stdout and "drops 172.20.0.3" in p.stdout, p.stdout)
    firewall_before = (st["iptables"], st["ip6tables"])

    p = sh(S.isolate(CID))
    st = state()
    tap.check("isolate again: exit 0", p.returncode == 0, p.stderr)
    tap.check("isolate again: same rules, no duplicate jump (addresses from the host record)",
              (st["iptables"], st["ip6tables"]) == firewall_before, st["iptables"])

    p = sh(S.pause(CID))
    tap.check("pause: paused", p.returncode == 0 and state()["container"]["status"] == "paused", p.stdout + p.stderr)
    p = sh(S.pause(CID))
    tap.check("pause again: says so, exit 0", p.returncode == 0 and "already paused" in p.stdout, p.stdout)

    p = sh(S.release(CID))
    st = state()
    tap.check("release: exit 0", p.returncode == 0, p.stdout + p.stderr)
    tap.check("release: chains and jumps removed, other rules kept",
              CHAIN not in st["iptables"] and CHAIN not in st["ip6tables"] and st["iptables"]["INPUT"] == ["-j ACCEPT-SSH"]
              and st["iptables"]["DOCKER-USER"] == ["-j RETURN"] and st["ip6tables"]["INPUT"] == [], st)
    tap.check("release: unpaused and reconnected to its networks",
              st["container"]["status"] == "running" and sorted(st["container"]["connected"]) == ["app-net", "bridge"], st["container"])
    tap.check("release: the host record removed", not os.path.exists(os.path.join(HOST_DIR, CID)))

    p = sh(S.stop(CID))
    tap.check("stop: stopped", p.returncode == 0 and state()["container"]["status"] == "exited", p.stdout + p.stderr)
    p = sh(S.stop(CID))
    tap.check("stop again: says so, exit 0", p.returncode == 0 and "already exited" in p.stdout, p.stdout)

    set_state(world(mode="host"))
    p = sh(S.isolate(CID))
    st = state()
    tap.check("host network: refused with exit 3 and the reason",
              p.returncode == 3 and "uses the host network" in p.stderr and "runbooks/ec2.lua" in p.stderr, (p.returncode, p.stderr))
    tap.check("host network: no firewall change, no disconnect",
              not any(c[0] in ("iptables", "ip6tables") for c in st["log"]) and st["container"]["connected"] == ["bridge", "app-net"])

    set_state(world())
    p = sh(S.isolate("ffffffffffff"))
    tap.check("unknown container: the script fails with docker's message",
              p.returncode != 0 and "No such object" in p.stderr and not any(c[0] == "iptables" for c in state()["log"]), p.stderr)
finally:
    shutil.rmtree(TMP, ignore_errors=True)
tap.done()
