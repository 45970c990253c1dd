-- Fault: a permission using the model id instead of the IAM prefix
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-perm-elbv2",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances", "elbv2:DescribeTargetGroups" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        local r = ec2:DescribeInstances{ InstanceIds = { ctx.params.instance } }
        local elbv2 = aws.client("elbv2")
        elbv2:DescribeTargetGroups{}
        ctx.output("reservations", #r.Reservations)
      end,
    },
  },
}
