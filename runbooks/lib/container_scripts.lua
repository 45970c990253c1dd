-- The exact shell scripts the container runbook runs on the host (AWS-RunShellScript,
-- one list entry per line). They are part of the runbook's contract: tests assert them
-- word for word, and the report records them. Each is idempotent, so a rerun or a
-- --resume finishes the job instead of failing on what is already done.
--
-- Isolation state lives on the host under STATE_DIR/<key>: the networks the container was
-- on and its addresses, written once (before the first disconnect), so the firewall rules
-- survive reruns and --release knows what to reconnect.
local ssm = require("lib.container_ssm")

local M = {}

M.STATE_DIR = "/var/lib/irhost/containers"
local q = ssm.quote

-- iptables chain names are limited to 28 characters.
function M.chain(key) return "IRHOST-" .. key:sub(1, 21) end

local function head(key, container)
  return {
    "set -eu",
    "c=" .. q(container),
    "chain=" .. q(M.chain(key)),
    "state=" .. q(M.STATE_DIR .. "/" .. key),
  }
end

local function add(lines, more)
  for _, l in ipairs(more) do lines[#lines + 1] = l end
  return lines
end

-- Every container on the host, one per line: full id, names, image, status.
function M.list()
  return { "docker ps --all --no-trunc --format '{{.ID}} {{.Names}} {{.Image}} {{.Status}}'" }
end

-- Drops the container's traffic with a host firewall chain (forwarded traffic through
-- DOCKER-USER, traffic to the host itself through INPUT; established flows included, as
-- DOCKER-USER comes before Docker's conntrack accept), then disconnects it from every network.
function M.isolate(key, container)
  return add(head(key, container), {
    "mkdir -p \"$state\"",
    "mode=$(docker inspect --type container -f '{{.HostConfig.NetworkMode}}' \"$c\")",
    "if [ \"$mode\" = host ]; then echo \"irhost: $c uses the host network: it cannot be cut off without isolating the instance (runbooks/ec2.lua)\" >&2; exit 3; fi",
    "[ -s \"$state/networks\" ] || docker inspect --type container -f '{{range $n, $v := .NetworkSettings.Networks}}{{$n}} {{end}}' \"$c\" > \"$state/networks\"",
    "[ -s \"$state/ipv4\" ] || docker inspect --type container -f '{{range .NetworkSettings.Networks}}{{if .IPAddress}}{{.IPAddress}} {{end}}{{end}}' \"$c\" > \"$state/ipv4\"",
    "[ -s \"$state/ipv6\" ] || docker inspect --type container -f '{{range .NetworkSettings.Networks}}{{if .GlobalIPv6Address}}{{.GlobalIPv6Address}} {{end}}{{end}}' \"$c\" > \"$state/ipv6\"",
    "for fw in iptables ip6tables; do",
    "  command -v $fw >/dev/null || { echo \"irhost: $fw is not installed: no $fw rules\"; continue; }",
    "  if [ $fw = iptables ]; then ips=$(cat \"$state/ipv4\"); else ips=$(cat \"$state/ipv6\"); fi",
    "  [ -n \"$(echo $ips)\" ] || continue",
    "  $fw -N \"$chain\" 2>/dev/null || $fw -F \"$chain\"",
    "  for ip in $ips; do $fw -A \"$chain\" -s \"$ip\" -j DROP; $fw -A \"$chain\" -d \"$ip\" -j DROP; echo \"irhost: $fw $chain drops $ip\"; done",
    "  for t in DOCKER-USER INPUT; do",
    "    $fw -n -L \"$t\" >/dev/null 2>&1 || continue",
    "    $fw -C \"$t\" -j \"$chain\" 2>/dev/null || $fw -I \"$t\" 1 -j \"$chain\"",
    "    echo \"irhost: $fw $t jumps to $chain\"",
    "  done",
    "done",
    "for n in $(cat \"$state/networks\"); do",
    "  if docker network disconnect -f \"$n\" \"$c\" 2>/dev/null; then echo \"irhost: disconnected from $n\"; else echo \"irhost: not connected to $n\"; fi",
    "done",
    "echo \"irhost: isolated $c\"",
  })
end

-- Undoes isolate and pause: removes the chain, unpauses, reconnects the recorded networks.
function M.release(key, container)
  return add(head(key, container), {
    "for fw in iptables ip6tables; do",
    "  command -v $fw >/dev/null || continue",
    "  for t in DOCKER-USER INPUT; do while $fw -D \"$t\" -j \"$chain\" 2>/dev/null; do :; done; done",
    "  if $fw -F \"$chain\" 2>/dev/null; then $fw -X \"$chain\"; echo \"irhost: $fw $chain removed\"; fi",
    "done",
    "if [ \"$(docker inspect --type container -f '{{.State.Paused}}' \"$c\")\" = true ]; then docker unpause \"$c\" >/dev/null; echo \"irhost: unpaused $c\"; fi",
    "for n in $(cat \"$state/networks\" 2>/dev/null); do",
    "  if docker network connect \"$n\" \"$c\" 2>/dev/null; then echo \"irhost: reconnected to $n\"; else echo \"irhost: $n: already connected or gone\"; fi",
    "done",
    "rm -rf \"$state\"",
    "echo \"irhost: released $c\"",
  })
end

-- Freezes every process of the container (cgroup freezer): nothing runs, memory is kept.
function M.pause(key, container)
  local l = head(key, container)
  return {
    l[1], l[2],
    "s=$(docker inspect --type container -f '{{.State.Status}}' \"$c\")",
    "case \"$s\" in",
    "  paused) echo \"irhost: $c already paused\" ;;",
    "  running) docker pause \"$c\" >/dev/null; echo \"irhost: paused $c\" ;;",
    "  *) echo \"irhost: $c is $s: nothing to pause\" ;;",
    "esac",
  }
end

function M.stop(key, container)
  local l = head(key, container)
  return {
    l[1], l[2],
    "s=$(docker inspect --type container -f '{{.State.Status}}' \"$c\")",
    "case \"$s\" in",
    "  exited|dead|created) echo \"irhost: $c already $s\" ;;",
    "  *) docker stop --time 30 \"$c\" >/dev/null; echo \"irhost: stopped $c (was $s)\" ;;",
    "esac",
  }
end

-- Evidence collectors: name -> {file, lines}. Read-only on the container.
function M.evidence(container, log_lines)
  local c = q(container)
  return {
    { name = "inspect", file = "container-inspect.json", lines = { "docker inspect --type container " .. c } },
    { name = "processes", file = "container-processes.txt", lines = { "docker top " .. c .. " -eo pid,ppid,user,lstart,etime,args" } },
    { name = "logs", file = "container-logs.txt", lines = { "docker logs --timestamps --tail " .. tostring(log_lines) .. " " .. c .. " 2>&1" } },
    { name = "changes", file = "container-filesystem-changes.txt", lines = { "docker diff " .. c } },
  }
end

return M
