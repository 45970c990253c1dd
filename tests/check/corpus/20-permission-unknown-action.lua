-- Fault: a permission naming an action that does not exist
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-perm-action",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances", "ec2:StopInstance" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        local r = ec2:DescribeInstances{ InstanceIds = { ctx.params.instance } }
        ctx.output("reservations", #r.Reservations)
      end,
    },
  },
}
