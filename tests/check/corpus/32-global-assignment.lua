-- Fault: a global assignment instead of a local (warning)
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-global",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        reservations = ec2:DescribeInstances{ InstanceIds = { ctx.params.instance } }
        ctx.output("reservations", #reservations.Reservations)
      end,
    },
  },
}
