-- Fault: two steps with one name
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-dup-step",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        local r = ec2:DescribeInstances{ InstanceIds = { ctx.params.instance } }
        ctx.output("reservations", #r.Reservations)
      end,
    },
    { name = "Describe", run = function() end },
  },
}
