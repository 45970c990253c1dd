-- The SQL that locks a database user out and ends its sessions, per RDS engine. The user
-- name comes from a finding or the command line, so it is checked against a strict
-- pattern before it is put into any statement (and quoted as an identifier anyway).
local M = {}

M.USER_PATTERN = "^[%a_][%w_$]*$"
M.MAX_USER = 63

-- Engine family: "postgres", "mysql", "sqlserver", "oracle" or nil.
function M.family(engine)
  engine = tostring(engine or "")
  if engine:match("postgres") then return "postgres" end
  if engine:match("mysql") or engine:match("mariadb") then return "mysql" end
  if engine:match("^sqlserver") then return "sqlserver" end
  if engine:match("^oracle") or engine:match("^custom%-oracle") then return "oracle" end
  return nil
end

-- Statements (in order) that stop user from logging in and end its open sessions.
-- Returns list, or nil, message for an unsafe user name or an unknown engine.
function M.lock_statements(engine, user)
  if type(user) ~= "string" or #user > M.MAX_USER or not user:match(M.USER_PATTERN) then
    return nil, "database user name " .. string.format("%q", tostring(user)):sub(1, 80) ..
      " is not a plain identifier (letters, digits, _ and $): lock it by hand"
  end
  local f = M.family(engine)
  if f == "postgres" then
    return {
      string.format('ALTER ROLE "%s" NOLOGIN', user),
      string.format("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '%s' AND pid <> pg_backend_pid()", user),
    }
  elseif f == "mysql" then
    return {
      string.format("ALTER USER '%s'@'%%' ACCOUNT LOCK", user),
      -- RDS forbids KILL on other users' threads; mysql.rds_kill is its replacement.
      string.format("SELECT CONCAT('CALL mysql.rds_kill(', id, ');') FROM information_schema.processlist WHERE user = '%s'", user),
    }
  elseif f == "sqlserver" then
    return {
      string.format("ALTER LOGIN [%s] DISABLE", user),
      string.format("SELECT 'KILL ' + CAST(session_id AS varchar(10)) FROM sys.dm_exec_sessions WHERE login_name = N'%s'", user),
    }
  elseif f == "oracle" then
    local u = user:upper()
    return {
      string.format('ALTER USER "%s" ACCOUNT LOCK', u),
      string.format("SELECT 'BEGIN rdsadmin.rdsadmin_util.kill(' || sid || ', ' || serial# || '); END;' FROM v$session WHERE username = '%s'", u),
    }
  end
  return nil, "no lock statements for engine " .. tostring(engine) .. ": lock the user by hand"
end

-- The statements as a script a DBA can run, with what each does.
function M.script(db, engine, user, statements)
  local lines = {
    "-- irhost: lock database user " .. user .. " on " .. db .. " (" .. tostring(engine) .. ")",
    "-- Run as the master user. The second statement lists (or ends) the user's open sessions;",
    "-- on MySQL, SQL Server and Oracle run the statements it prints.",
  }
  for _, s in ipairs(statements) do lines[#lines + 1] = s .. ";" end
  return table.concat(lines, "\n") .. "\n"
end

return M
