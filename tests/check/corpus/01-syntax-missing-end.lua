-- Fault: a function without its end
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-syntax",
  description = "Corpus runbook with one fault",
  permissions = { "ec2:DescribeInstances" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        local r = ec2:DescribeInstances{ InstanceIds = { ctx.params.instance } }
        if #r.Reservations == 0 then
          ctx.output("found", false)
      end,
    },
  },
}
