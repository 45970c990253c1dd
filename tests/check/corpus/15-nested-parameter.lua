-- Fault: a typo inside a nested structure
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-nested",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        local r = ec2:DescribeInstances{ Filters = { { Nam = "instance-id", Values = { ctx.params.instance } } } }
        ctx.output("reservations", #r.Reservations)
      end,
    },
  },
}
