-- Involve Asia postback traffic for wrk (LuaJIT), driven by bench/postback_bench/traffic.py.
--
-- Every request carries a new conversion id (run id, thread, counter), except ~BENCH_REPEAT of
-- them, which resend a conversion this thread already saw acknowledged (a network retry or a
-- later status). Requests rotate between GET with a query string, POST with a JSON body and
-- POST with a form body, spread over the partners' ts_tokens.
--
-- Latency is timed here, per request, from the moment wrk asks for it to the moment its answer
-- is parsed: the answer names its conversion id, which is in flight on one connection at most.
--
-- At BENCH_STOP_AT (epoch seconds) no new request is sent: each connection parks once its last
-- answer is in. When all of a thread's connections are parked the thread writes a marker file
-- and stops, so every postback sent got its answer and the database can be checked exactly.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } pb_timespec;
int clock_gettime(int clock_id, pb_timespec *tp);
]]
local clock = ffi.new("pb_timespec")
local function now()
   ffi.C.clock_gettime(0, clock) -- CLOCK_REALTIME, the runner's time.time()
   return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end

local function split(text, sep)
   local out = {}
   for part in string.gmatch(text or "", "[^" .. sep .. "]+") do
      out[#out + 1] = part
   end
   return out
end

local RUN = os.getenv("BENCH_RUN") or "run"
local TOKENS = split(os.getenv("BENCH_TOKENS"), ",")
local STOP_AT = tonumber(os.getenv("BENCH_STOP_AT") or "0")
local REPEAT = tonumber(os.getenv("BENCH_REPEAT") or "0.05")
local THREADS = tonumber(os.getenv("BENCH_THREADS") or "1")
local CONNECTIONS = tonumber(os.getenv("BENCH_CONNECTIONS") or "1")
local OUT = os.getenv("BENCH_OUT")
local MARK = os.getenv("BENCH_MARK")
local TRACK = os.getenv("BENCH_TRACK") ~= "0" -- off for the ceiling, whose answer names no id
local PARK_MS = 3600000
local RING = 4096

-- Share of traffic per partner (token), first partners busiest, as in a real agency.
local PARTNER_WEIGHTS = { 0.4, 0.3, 0.2, 0.1 }

local OFFERS = {
   { id = "3456", name = "Shopee MY", currency = "MYR", usd = 0.2237, myr = 1 },
   { id = "7788", name = "Lazada MY", currency = "MYR", usd = 0.2237, myr = 1 },
   { id = "9102", name = "TikTok Shop MY", currency = "MYR", usd = 0.2237, myr = 1 },
   { id = "5521", name = "Shopee SG", currency = "SGD", usd = 0.7450, myr = 3.33 },
   { id = "6630", name = "Lazada ID", currency = "IDR", usd = 0.0000631, myr = 0.000282 },
   { id = "4410", name = "Zalora MY", currency = "MYR", usd = 0.2237, myr = 1 },
}

-- Main state (setup/done) ------------------------------------------------------------------

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
   thread:set("thread_id", #threads)
end

function done(summary, latency, requests)
   local f = assert(io.open(OUT, "w"))
   f:write(string.format("wrk requests %d\n", summary.requests))
   f:write(string.format("wrk duration_us %d\n", summary.duration))
   for name, count in pairs(summary.errors) do
      f:write(string.format("wrk %s %d\n", name, count))
   end
   for _, p in ipairs({ 50, 95, 99 }) do -- wrk's own figures, corrected for coordinated omission
      f:write(string.format("wrk latency_p%d_us %d\n", p, latency:percentile(p)))
   end
   for _, thread in ipairs(threads) do
      local id = thread:get("thread_id")
      for name, value in pairs(thread:get("stats")) do
         f:write(string.format("thread%d %s %.17g\n", id, name, value))
      end
      for status, count in pairs(thread:get("statuses")) do
         f:write(string.format("status %d %d\n", status, count))
      end
      for bucket, count in pairs(thread:get("hist")) do
         f:write(string.format("hist %d %d\n", bucket, count))
      end
   end
   f:close()
end

-- Thread states (init/request/response/delay) -------------------------------------------------

-- Globals, not locals: done() reads them from each thread with thread:get().
stats = { sent = 0, answered = 0, ok = 0, ok_duplicate = 0, repeats = 0, timed = 0,
   first_sent = 0, last_answer = 0, drained = 0 }
statuses = {}
hist = {} -- latency in 10 µs buckets
local in_flight = {} -- conversion id -> time sent
local partner_of = {} -- conversion id -> partner index, until answered
local ring_id, ring_partner, ring_size, ring_next = {}, {}, 0, 1
local counter, parked, per_thread = 0, 0, 1
-- wrk calls request() once in the first thread to check the script's output, and never sends
-- that request: it must not count as sent.
local verifying = false
local pool = {}

local function escape(text)
   return (string.gsub(text, "[^%w%-%._~]", function(c)
      return string.format("%%%02X", string.byte(c))
   end))
end

local function amount(value)
   local text = string.format("%.2f", value)
   if value >= 1000 and math.random() < 0.5 then -- Involve Asia sends thousands separators
      local whole, frac = string.match(text, "^(%d+)(%.%d+)$")
      text = string.reverse((string.gsub(string.reverse(whole), "(%d%d%d)", "%1,"))) .. frac
      text = string.gsub(text, "^,", "")
   end
   return text
end

-- A few hundred realistic field sets, drawn per request so Lua does little work per request.
local function build_pool()
   local base = os.time()
   for i = 1, 512 do
      local offer = OFFERS[math.random(#OFFERS)]
      local sale = math.random(500, 250000) / 100 / offer.usd * 0.2237
      local payout = sale * (math.random(2, 8) / 100)
      local when = os.date("!%Y-%m-%d %H:%M:%S", base - math.random(0, 7 * 86400) - 8 * 3600)
      pool[i] = {
         offer_id = offer.id,
         offer_name = offer.name,
         conversion_currency = (math.random() < 0.1) and string.lower(offer.currency) or offer.currency,
         sale_amount_local = amount(sale),
         myr_sale_amount = amount(sale * offer.myr),
         usd_sale_amount = amount(sale * offer.usd),
         payout_local = amount(payout),
         myr_payout = amount(payout * offer.myr),
         usd_payout = amount(payout * offer.usd),
         datetime_conversion = when,
         aff_sub = "fb-ads-" .. math.random(1, 40),
         aff_sub2 = (math.random() < 0.5) and "{aff_sub2}" or ("camp" .. math.random(100, 999)),
         adv_sub = "{adv_sub}",
      }
   end
end

local FIELD_ORDER = { "offer_id", "offer_name", "sale_amount_local", "myr_sale_amount",
   "usd_sale_amount", "payout_local", "myr_payout", "usd_payout", "conversion_currency",
   "datetime_conversion", "aff_sub", "aff_sub2", "adv_sub" }

local function query_of(fields)
   local parts = {}
   for i, name in ipairs(FIELD_ORDER) do
      parts[i] = name .. "=" .. escape(fields[name])
   end
   return table.concat(parts, "&")
end

local function json_of(fields)
   local parts = {}
   for i, name in ipairs(FIELD_ORDER) do
      parts[i] = string.format('"%s":"%s"', name, fields[name])
   end
   return table.concat(parts, ",")
end

function init(args)
   verifying = thread_id == 1
   math.randomseed(1000 + thread_id)
   per_thread = math.floor(CONNECTIONS / THREADS)
   build_pool()
   for _, fields in ipairs(pool) do -- encoded once; ids, tokens and status vary per request
      fields.query = query_of(fields)
      fields.json = json_of(fields)
   end
end

local JSON_HEADERS = { ["Content-Type"] = "application/json" }
local FORM_HEADERS = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local GET_HEADERS = {}

local function pick_partner()
   local r, total = math.random(), 0
   for i = 1, #TOKENS do
      total = total + (PARTNER_WEIGHTS[i] or PARTNER_WEIGHTS[#PARTNER_WEIGHTS])
      if r < total then
         return i
      end
   end
   return #TOKENS
end

local function new_status()
   local r = math.random()
   if r < 0.7 then return "pending" elseif r < 0.9 then return "approved" end
   return "rejected"
end

function request()
   if verifying then
      verifying = false
      return wrk.format("GET", "/postback/?conversion_id=verify", GET_HEADERS, nil)
   end
   local t = now()
   if stats.sent == 0 then
      stats.first_sent = t
   end
   local id, partner, status
   if ring_size > 0 and math.random() < REPEAT then
      local slot = math.random(ring_size)
      id, partner = ring_id[slot], ring_partner[slot]
      if in_flight[id] then
         id = nil -- already on the wire: send a new conversion instead
      else
         status = (math.random() < 0.6) and "Approved" or "pending"
         stats.repeats = stats.repeats + 1
      end
   end
   if id == nil then
      counter = counter + 1
      id = string.format("IA-%s-%d-%d", RUN, thread_id, counter)
      partner = pick_partner()
      status = new_status()
   end
   if TRACK then
      in_flight[id] = t
      partner_of[id] = partner
   end
   stats.sent = stats.sent + 1

   local fields = pool[math.random(#pool)]
   local token = TOKENS[partner]
   local order = "SO-" .. string.sub(id, -12)
   local kind = math.random()
   if kind < 0.5 then
      local path = string.format("/postback/?conversion_id=%s&order_id=%s&status=%s&%s&ts_token=%s",
         id, order, status, fields.query, token)
      return wrk.format("GET", path, GET_HEADERS, nil)
   elseif kind < 0.75 then
      local body = string.format('{"conversion_id":"%s","order_id":"%s","status":"%s",%s,"ts_token":"%s"}',
         id, order, status, fields.json, token)
      return wrk.format("POST", "/postback/", JSON_HEADERS, body)
   end
   local body = string.format("conversion_id=%s&order_id=%s&status=%s&%s", id, order, status, fields.query)
   return wrk.format("POST", "/postback/?ts_token=" .. token, FORM_HEADERS, body)
end

function response(status, headers, body)
   local t = now()
   stats.answered = stats.answered + 1
   stats.last_answer = t
   statuses[status] = (statuses[status] or 0) + 1
   if status == 200 then
      stats.ok = stats.ok + 1
      if string.find(body, '"duplicate":true', 1, true) then
         stats.ok_duplicate = stats.ok_duplicate + 1
      end
   end
   local id = TRACK and string.match(body, '"conversion_id":"([^"]+)"')
   local sent = id and in_flight[id]
   if sent then
      local bucket = math.floor((t - sent) * 1e5)
      hist[bucket] = (hist[bucket] or 0) + 1
      stats.timed = stats.timed + 1
      in_flight[id] = nil
      if status == 200 then
         if ring_size < RING then ring_size = ring_size + 1 end
         ring_id[ring_next], ring_partner[ring_next] = id, partner_of[id]
         ring_next = (ring_next % RING) + 1
      end
      partner_of[id] = nil
   end
end

function delay()
   if now() < STOP_AT then
      return 0
   end
   parked = parked + 1
   if parked >= per_thread and stats.drained == 0 then
      stats.drained = 1
      if MARK then
         local f = io.open(string.format("%s.%d", MARK, thread_id), "w")
         if f then f:close() end
      end
      wrk.thread:stop()
   end
   return PARK_MS
end
