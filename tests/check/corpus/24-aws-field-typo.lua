-- Fault: a typo in an aws function name
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-clinet",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        local r = aws.clinet("ec2"):DescribeInstances{ InstanceIds = { ctx.params.instance } }
        ctx.output("reservations", #r.Reservations)
        ctx.output("client", ec2)
      end,
    },
  },
}
