-- Fault: a call on a client from a local factory function lacks its permission
local function rds() return aws.client("rds") end

return ir.runbook {
  name = "corpus-factory",
  description = "Corpus runbook with one fault",
  params = {
    db = { required = true, pattern = "^[%a][%w-]*$", help = "DB instance id" },
  },
  permissions = { "rds:DescribeDBInstances" },
  steps = {
    {
      name = "Protect",
      run = function(ctx)
        local ok, r = pcall(rds().DescribeDBInstances, rds(), { DBInstanceIdentifier = ctx.params.db })
        if not ok then error(r, 0) end
        local db = rds()
        db:ModifyDBInstance{ DBInstanceIdentifier = ctx.params.db, DeletionProtection = true }
      end,
    },
  },
}
