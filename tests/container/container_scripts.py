"""The contract: the exact shell scripts runbooks/container.lua sends to the host through
SSM Run Command (AWS-RunShellScript, one list entry per line), written out here by hand so
that a change to a script is a deliberate change to this file too. Used by
test_container_e2e.py (what was sent) and test_container_scripts.py (what the scripts do)."""

STATE_DIR = "/var/lib/irhost/containers"


def _head(cid):
    return ["set -eu", f"c='{cid}'", f"chain='IRHOST-{cid}'", f"state='{STATE_DIR}/{cid}'"]


def list_():
    return ["docker ps --all --no-trunc --format '{{.ID}} {{.Names}} {{.Image}} {{.Status}}'"]


def isolate(cid):
    return _head(cid) + [
        'mkdir -p "$state"',
        "mode=$(docker inspect --type container -f '{{.HostConfig.NetworkMode}}' \"$c\")",
        'if [ "$mode" = host ]; then echo "irhost: $c uses the host network: it cannot be cut off without isolating '
        'the instance (runbooks/ec2.lua)" >&2; exit 3; fi',
        "[ -s \"$state/networks\" ] || docker inspect --type container -f '{{range $n, $v := .NetworkSettings.Networks}}"
        "{{$n}} {{end}}' \"$c\" > \"$state/networks\"",
        "[ -s \"$state/ipv4\" ] || docker inspect --type container -f '{{range .NetworkSettings.Networks}}{{if .IPAddress}}"
        "{{.IPAddress}} {{end}}{{end}}' \"$c\" > \"$state/ipv4\"",
        "[ -s \"$state/ipv6\" ] || docker inspect --type container -f '{{range .NetworkSettings.Networks}}"
        "{{if .GlobalIPv6Address}}{{.GlobalIPv6Address}} {{end}}{{end}}' \"$c\" > \"$state/ipv6\"",
        "for fw in iptables ip6tables; do",
        '  command -v $fw >/dev/null || { echo "irhost: $fw is not installed: no $fw rules"; continue; }',
        '  if [ $fw = iptables ]; then ips=$(cat "$state/ipv4"); else ips=$(cat "$state/ipv6"); fi',
        '  [ -n "$(echo $ips)" ] || continue',
        '  $fw -N "$chain" 2>/dev/null || $fw -F "$chain"',
        '  for ip in $ips; do $fw -A "$chain" -s "$ip" -j DROP; $fw -A "$chain" -d "$ip" -j DROP; '
        'echo "irhost: $fw $chain drops $ip"; done',
        "  for t in DOCKER-USER INPUT; do",
        '    $fw -n -L "$t" >/dev/null 2>&1 || continue',
        '    $fw -C "$t" -j "$chain" 2>/dev/null || $fw -I "$t" 1 -j "$chain"',
        '    echo "irhost: $fw $t jumps to $chain"',
        "  done",
        "done",
        'for n in $(cat "$state/networks"); do',
        '  if docker network disconnect -f "$n" "$c" 2>/dev/null; then echo "irhost: disconnected from $n"; '
        'else echo "irhost: not connected to $n"; fi',
        "done",
        'echo "irhost: isolated $c"',
    ]


def release(cid):
    return _head(cid) + [
        "for fw in iptables ip6tables; do",
        "  command -v $fw >/dev/null || continue",
        '  for t in DOCKER-USER INPUT; do while $fw -D "$t" -j "$chain" 2>/dev/null; do :; done; done',
        '  if $fw -F "$chain" 2>/dev/null; then $fw -X "$chain"; echo "irhost: $fw $chain removed"; fi',
        "done",
        "if [ \"$(docker inspect --type container -f '{{.State.Paused}}' \"$c\")\" = true ]; then "
        'docker unpause "$c" >/dev/null; echo "irhost: unpaused $c"; fi',
        'for n in $(cat "$state/networks" 2>/dev/null); do',
        '  if docker network connect "$n" "$c" 2>/dev/null; then echo "irhost: reconnected to $n"; '
        'else echo "irhost: $n: already connected or gone"; fi',
        "done",
        'rm -rf "$state"',
        'echo "irhost: released $c"',
    ]


def pause(cid):
    return ["set -eu", f"c='{cid}'",
            "s=$(docker inspect --type container -f '{{.State.Status}}' \"$c\")",
            'case "$s" in',
            '  paused) echo "irhost: $c already paused" ;;',
            '  running) docker pause "$c" >/dev/null; echo "irhost: paused $c" ;;',
            '  *) echo "irhost: $c is $s: nothing to pause" ;;',
            "esac"]


def stop(cid):
    return ["set -eu", f"c='{cid}'",
            "s=$(docker inspect --type container -f '{{.State.Status}}' \"$c\")",
            'case "$s" in',
            '  exited|dead|created) echo "irhost: $c already $s" ;;',
            '  *) docker stop --time 30 "$c" >/dev/null; echo "irhost: stopped $c (was $s)" ;;',
            "esac"]


def inspect(cid):
    return [f"docker inspect --type container '{cid}'"]


def top(cid):
    return [f"docker top '{cid}' -eo pid,ppid,user,lstart,etime,args"]


def logs(cid, n):
    return [f"docker logs --timestamps --tail {n} '{cid}' 2>&1"]


def diff(cid):
    return [f"docker diff '{cid}'"]
