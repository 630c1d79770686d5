-- wrk script for tests/bench/write_path.py: walks the benchmark's variables with `write` or `sread`;
-- for tests/bench/rest_write.py, action `rest` writes the same way through REST v1 (POST
-- /api/v1/variables/{id}/value, the key in X-API-Key, {"value": 0|1} as the body).
--
-- Arguments (after `--`): action, variables, accounts, key_base, id_base, threads. The middle four
-- describe the layout write_path.py creates: variable n has id id_base + n and belongs to account
-- n % accounts, whose key is key_base + (n % accounts). The thread count comes as an argument
-- because wrk runs each thread's init() right after its setup(), before the next thread exists.
--
-- Thread t of T walks the variables t, t + T, t + 2T, ... in order, so the threads never share a
-- variable and each variable is written again only after all of its thread's slice: with 30,000
-- variables that is seconds later, past the 1 s cooldown.

local threads = {}

function setup(thread)
    thread:set("thread_index", #threads)
    table.insert(threads, thread)
end

function init(args)
    local action, variables, accounts = args[1], tonumber(args[2]), tonumber(args[3])
    local key_base, id_base, thread_total = tonumber(args[4]), tonumber(args[5]), tonumber(args[6])
    is_rest = action == "rest"
    is_write = action == "write" or is_rest
    -- Requests are built here once, not in request(): wrk's own CPU is the service's CPU on this box.
    -- A write sends 0 on even passes over the slice and 1 on odd ones (see write_path.py for why 0/1).
    passes = is_write and 2 or 1
    requests = {}
    for pass = 0, passes - 1 do
        requests[pass] = {}
        for n = thread_index, variables - 1, thread_total do
            local key = string.format("%.0f", key_base + n % accounts)
            if is_rest then
                local path = string.format("/api/v1/variables/%.0f/value", id_base + n)
                local headers = { ["X-API-Key"] = key, ["Content-Type"] = "application/json" }
                table.insert(requests[pass], wrk.format("POST", path, headers, '{"value":' .. pass .. "}"))
            else
                local path = string.format("/?key=%s&action=%s&id=%.0f", key, action, id_base + n)
                if is_write then
                    path = path .. "&value=" .. pass
                end
                table.insert(requests[pass], wrk.format("GET", path))
            end
        end
    end
    slice = #requests[0]
    sent = 0
    ok, cooldown, other = 0, 0, 0
    sample = ""
end

function request()
    local pass = math.floor(sent / slice) % passes
    local text = requests[pass][sent % slice + 1]
    sent = sent + 1
    return text
end

function response(status, headers, body)
    local success
    if is_rest then
        success = status == 200
    elseif is_write then
        success = body == '{"result":"success"}'
    else
        success = body:sub(1, 8) == "success|"
    end
    if success then
        ok = ok + 1
    elseif body:find("error_cooldown", 1, true) then
        cooldown = cooldown + 1
    else
        other = other + 1
        if sample == "" then
            sample = status .. " " .. body:sub(1, 200)
        end
    end
end

function done(summary, latency, requests)
    local ok_total, cooldown_total, other_total, first_other = 0, 0, 0, ""
    for _, thread in ipairs(threads) do
        ok_total = ok_total + thread:get("ok")
        cooldown_total = cooldown_total + thread:get("cooldown")
        other_total = other_total + thread:get("other")
        if first_other == "" then
            first_other = thread:get("sample")
        end
    end
    local errors = summary.errors
    -- Lines for write_path.py: the numbers as JSON, then the first unexpected answer as is.
    io.write(string.format(
        'WRK_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "ok": %d, '
            .. '"cooldown": %d, "other": %d, "socket_errors": %d, "http_errors": %d}\n',
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        ok_total, cooldown_total, other_total,
        errors.connect + errors.read + errors.write + errors.timeout, errors.status
    ))
    io.write("WRK_SAMPLE " .. first_other:gsub("%s", " ") .. "\n")
end
