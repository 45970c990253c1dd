-- A sample runbook that uses only the sandbox (no AWS call): try it first.
--   irhost runbooks/examples/hello.lua --help
--   irhost runbooks/examples/hello.lua --name Alice --count 3
return ir.runbook {
  name = "hello",
  description = "Greets someone, counts, and saves the greeting as evidence (no AWS calls)",
  params = {
    name  = { required = true, help = "who to greet", pattern = "^[%w%s._-]+$" },
    count = { type = "integer", default = 2, min = 1, max = 1000000, help = "how many numbers to add up" },
    style = { default = "plain", choices = { "plain", "loud" }, help = "how to greet" },
  },
  permissions = {},
  steps = {
    {
      name = "Compose the greeting",
      run = function(ctx)
        local text = "Hello, " .. ctx.params.name .. "!"
        if ctx.params.style == "loud" then text = text:upper() end
        ctx.output("greeting", text)
        ctx.log(text)
      end,
    },
    {
      name = "Count",
      run = function(ctx)
        local sum = 0
        for i = 1, ctx.params.count do sum = sum + i end
        ctx.output("sum", sum)
        ctx.info("1 + ... + %d = %d", ctx.params.count, sum)
      end,
    },
    {
      name = "Save the greeting as evidence",
      run = function(ctx)
        ctx.evidence:save("greeting.txt", ctx.state.greeting .. "\n")
      end,
    },
  },
}
