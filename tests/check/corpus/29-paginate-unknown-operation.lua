-- Fault: a typo in the operation given to paginate
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-paginate",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        for page in ec2:paginate("DescribeInstance", { InstanceIds = { ctx.params.instance } }) do
          ctx.output("reservations", #page.Reservations)
        end
      end,
    },
  },
}
