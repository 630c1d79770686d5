-- wrk script for tests/bench/rest_write.py: walks the benchmark's variables with REST writes,
-- POST /api/v1/variables/{id}/value with the key in X-API-Key and {"value": 0|1} as the body.
--
-- It takes the arguments of write_path.lua (action, variables, accounts, key_base, id_base, threads;
-- the action is ignored) and walks the same way: thread t of T writes the variables t, t + T, ...,
-- so each variable is written again only after its thread's whole slice, past the 1 s cooldown.
-- It prints the lines write_path.py's run_wrk reads.

local threads = {}

function setup(thread)
    thread:set("thread_index", #threads)
    table.insert(threads, thread)
end

function init(args)
    local variables, accounts = tonumber(args[2]), tonumber(args[3])
    local key_base, id_base, thread_total = tonumber(args[4]), tonumber(args[5]), tonumber(args[6])
    -- Requests are built here once, not in request(): wrk's own CPU is the service's CPU on this box.
    requests = {}
    for pass = 0, 1 do
        requests[pass] = {}
        for n = thread_index, variables - 1, thread_total do
            local headers = {
                ["X-API-Key"] = string.format("%.0f", key_base + n % accounts),
                ["Content-Type"] = "application/json",
            }
            local path = string.format("/api/v1/variables/%.0f/value", id_base + n)
            table.insert(requests[pass], wrk.format("POST", path, headers, '{"value":' .. pass .. '}'))
        end
    end
    slice = #requests[0]
    sent = 0
    ok, cooldown, other = 0, 0, 0
    sample = ""
end

function request()
    local pass = math.floor(sent / slice) % 2
    local text = requests[pass][sent % slice + 1]
    sent = sent + 1
    return text
end

function response(status, headers, body)
    if status == 200 then
        ok = ok + 1
    elseif status == 429 and body:find("error_cooldown", 1, true) then
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
    io.write(string.format(
        'WRK_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "ok": %d, '
            .. '"cooldown": %d, "other": %d, "socket_errors": %d, "http_errors": %d}\n',
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        ok_total, cooldown_total, other_total,
        errors.connect + errors.read + errors.write + errors.timeout, errors.status
    ))
    io.write("WRK_SAMPLE " .. first_other:gsub("%s", " ") .. "\n")
end
