-- Fault: the chunk does not return ir.runbook{...}
local ec2 = aws.client("ec2")

ir.runbook {
  name = "corpus-no-return",
  description = "Corpus runbook with one fault",
  permissions = { "ec2:DescribeInstances" },
  steps = {
    { name = "Describe", run = function() return ec2:DescribeInstances{} end },
  },
}
