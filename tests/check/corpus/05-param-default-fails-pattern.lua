-- Fault: a default that fails the pattern
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-pattern",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
    ticket_id = { default = "ir-42", pattern = "^IR%-%d+$" },
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
  },
}
