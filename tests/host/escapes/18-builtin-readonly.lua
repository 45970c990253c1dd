-- The built-in modules are read-only views: a runbook cannot patch the framework.
-- expect-exit: 1
-- expect: attempt to change a read-only built-in table
ir.runbook = function(d) return d end
