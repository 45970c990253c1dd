-- The views' metatables are hidden too.
-- expect-exit: 1
-- expect: attempt to index a string value
getmetatable(json).__newindex = nil
