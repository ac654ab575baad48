-- wirelab.lua: a Wireshark dissector for the application protocol of the
-- Real Python socket tutorial ("wirelab"): a 2-byte big-endian header
-- length, a UTF-8 JSON header (byteorder, content-type, content-encoding,
-- content-length), then content-length bytes of content.
--
-- Written for Wireshark's Lua API (wslua) of Wireshark 3.x/4.x (Lua 5.2+).
-- Install: see README.md next to this file. Messages split over TCP
-- segments are reassembled (dissect_tcp_pdus); a frame that breaks the
-- rules is marked with expert info ("wirelab.malformed"), never a Lua error.

local wirelab = Proto("wirelab", "Real Python socket tutorial protocol (wirelab)")

local f = {
    header_length = ProtoField.uint16("wirelab.header_length", "Header length", base.DEC),
    header = ProtoField.string("wirelab.header", "JSON header"),
    byteorder = ProtoField.string("wirelab.header.byteorder", "byteorder"),
    content_type = ProtoField.string("wirelab.header.content_type", "content-type"),
    content_encoding = ProtoField.string("wirelab.header.content_encoding", "content-encoding"),
    content_length = ProtoField.uint32("wirelab.header.content_length", "content-length", base.DEC),
    header_field = ProtoField.string("wirelab.header.field", "Header field"),
    content = ProtoField.bytes("wirelab.content", "Content"),
    content_text = ProtoField.string("wirelab.content.text", "Content text"),
    member = ProtoField.string("wirelab.content.field", "Content field"),
    action = ProtoField.string("wirelab.action", "action"),
    value = ProtoField.string("wirelab.value", "value"),
    result = ProtoField.string("wirelab.result", "result"),
}
wirelab.fields = f

local e_malformed = ProtoExpert.new("wirelab.malformed", "Malformed wirelab message",
    expert.group.MALFORMED, expert.severity.ERROR)
local e_incomplete = ProtoExpert.new("wirelab.incomplete", "wirelab message incomplete so far",
    expert.group.SEQUENCE, expert.severity.NOTE)
wirelab.experts = { e_malformed, e_incomplete }

wirelab.prefs.port = Pref.uint("TCP port", 65432, "The tutorial's app server port")
wirelab.prefs.max_content = Pref.uint("Largest content-length", 16 * 1024 * 1024,
    "A larger content-length is marked malformed instead of being reassembled")

------------------------------------------------------------------------
-- A small JSON reader (RFC 8259) that never raises: it returns nil and a
-- reason. Values are {kind=..., value=..., from=..., to=...} with 1-based
-- byte positions in the text, so fields can point at their bytes.

local function utf8_char(cp)
    if cp < 0x80 then return string.char(cp) end
    if cp < 0x800 then
        return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40)
    end
    if cp < 0x10000 then
        return string.char(0xE0 + math.floor(cp / 0x1000),
            0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
    end
    return string.char(0xF0 + math.floor(cp / 0x40000), 0x80 + math.floor(cp / 0x1000) % 0x40,
        0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local parse_value

local function skip(s, i)
    local _, e = s:find("^[ \t\r\n]*", i)
    return e + 1
end

local function parse_string(s, i)
    -- s:sub(i, i) == '"'
    local out, j = {}, i + 1
    while true do
        local c = s:sub(j, j)
        if c == "" then return nil, "unterminated string" end
        if c == '"' then return { kind = "string", value = table.concat(out), from = i, to = j }, j + 1 end
        if c:byte() < 0x20 then return nil, "control character in a string" end
        if c == "\\" then
            local esc = s:sub(j + 1, j + 1)
            local simple = ({ ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" })[esc]
            if simple then
                out[#out + 1] = simple
                j = j + 2
            elseif esc == "u" then
                local hex = s:sub(j + 2, j + 5)
                if not hex:match("^%x%x%x%x$") then return nil, "bad \\u escape" end
                local cp = tonumber(hex, 16)
                j = j + 6
                if cp >= 0xD800 and cp < 0xDC00 and s:sub(j, j + 1) == "\\u" then
                    local lo = tonumber(s:sub(j + 2, j + 5), 16)
                    if lo and lo >= 0xDC00 and lo < 0xE000 then
                        cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
                        j = j + 6
                    end
                end
                out[#out + 1] = utf8_char(cp)
            else
                return nil, "bad escape \\" .. esc
            end
        else
            out[#out + 1] = c
            j = j + 1
        end
    end
end

local function parse_container(s, i, close, depth)
    local items, j = {}, skip(s, i + 1)
    if s:sub(j, j) == close then
        return items, j + 1
    end
    while true do
        local key
        if close == "}" then
            if s:sub(j, j) ~= '"' then return nil, "expected a member name" end
            local k, nj = parse_string(s, j)
            if not k then return nil, nj end
            j = skip(s, nj)
            if s:sub(j, j) ~= ":" then return nil, "expected ':'" end
            key, j = k.value, skip(s, j + 1)
        end
        local v, nj = parse_value(s, j, depth + 1)
        if not v then return nil, nj end
        v.key = key
        items[#items + 1] = v
        j = skip(s, nj)
        local c = s:sub(j, j)
        if c == close then return items, j + 1 end
        if c ~= "," then return nil, "expected ',' or '" .. close .. "'" end
        j = skip(s, j + 1)
    end
end

parse_value = function(s, i, depth)
    if depth > 64 then return nil, "nested too deeply" end
    local c = s:sub(i, i)
    if c == '"' then return parse_string(s, i) end
    if c == "{" or c == "[" then
        local items, j = parse_container(s, i, c == "{" and "}" or "]", depth)
        if not items then return nil, j end
        return { kind = c == "{" and "object" or "array", value = items, from = i, to = j - 1 }, j
    end
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
    if num and num ~= "" and num:match("^-?0%d") == nil and tonumber(num) then
        return { kind = "number", value = num, from = i, to = i + #num - 1 }, i + #num
    end
    for word, kind in pairs({ ["true"] = "boolean", ["false"] = "boolean", ["null"] = "null" }) do
        if s:sub(i, i + #word - 1) == word then
            return { kind = kind, value = word, from = i, to = i + #word - 1 }, i + #word
        end
    end
    if c == "" then return nil, "unexpected end" end
    return nil, "unexpected '" .. c .. "'"
end

local function parse_json(s)
    local ok, v, j = pcall(parse_value, s, skip(s, 1), 0)
    if not ok then return nil, "unreadable: " .. tostring(v) end
    if not v then return nil, j end
    if skip(s, j) <= #s then return nil, "extra data after the JSON value" end
    return v
end

-- A JSON value as its text (strings unquoted), for the tree.
local function shown(v)
    if v.kind == "string" or v.kind == "number" or v.kind == "boolean" or v.kind == "null" then
        return v.value
    end
    return v.kind == "object" and "{…}" or "[…]"
end

------------------------------------------------------------------------
-- Framing: how long the message starting at `offset` is, if known.

-- Returns the whole message's length; 0 while the header is not all there
-- (dissect_tcp_pdus then asks TCP for one more segment); for a header that
-- cannot say, the prefix and header alone (dissected as malformed).
local function message_length(tvb, offset)
    local have = tvb:len() - offset
    if have < 2 then return 0 end
    local hlen = tvb(offset, 2):uint()
    if have < 2 + hlen then return 0 end
    if hlen == 0 then return 2 end
    local header = parse_json(tvb(offset + 2, hlen):raw())
    if header and header.kind == "object" then
        for _, m in ipairs(header.value) do
            if m.key == "content-length" and m.kind == "number" then
                local n = tonumber(m.value)
                if n and n >= 0 and n == math.floor(n) and n <= wirelab.prefs.max_content then
                    return 2 + hlen + n
                end
            end
        end
    end
    return 2 + hlen
end

local function get_len(tvb, pinfo, offset)
    local ok, n = pcall(message_length, tvb, offset)
    if ok then return n end
    return tvb:len() - offset
end

------------------------------------------------------------------------
-- One whole message.

local header_fields = {
    byteorder = f.byteorder,
    ["content-type"] = f.content_type,
    ["content-encoding"] = f.content_encoding,
}
local content_fields = { action = f.action, value = f.value, result = f.result }
local required = { "byteorder", "content-length", "content-type", "content-encoding" }

local function malformed(item, text)
    item:add_proto_expert_info(e_malformed, text)
    item:append_text(" [Malformed: " .. text .. "]")
end

local function add_members(tree, tvb, base, object, specific, generic)
    for _, m in ipairs(object.value) do
        local range = tvb(base + m.from - 1, m.to - m.from + 1)
        local field = specific[m.key]
        if field and m.kind == "string" then
            tree:add(field, range, m.value)
        elseif m.key == "content-length" and m.kind == "number" and tonumber(m.value) then
            tree:add(f.content_length, range, tonumber(m.value))
        else
            tree:add(generic, range, m.key .. ": " .. shown(m))
        end
    end
end

local function dissect_message(tvb, pinfo, tree)
    local total = tvb:len()
    pinfo.cols.protocol = "wirelab"
    local item = tree:add(wirelab, tvb(0, total))
    local hlen = tvb(0, 2):uint()
    item:add(f.header_length, tvb(0, 2))
    if hlen == 0 then
        malformed(item, "zero-length JSON header: the 2-byte length prefix is 0")
        pinfo.cols.info:set("wirelab: malformed (zero-length header)")
        return total
    end
    local hrange = tvb(2, hlen)
    local htext = hrange:raw()
    local hitem = item:add(f.header, hrange, htext)
    local header, why = parse_json(htext)
    if not header then
        malformed(hitem, "JSON header is not valid JSON: " .. why)
        pinfo.cols.info:set("wirelab: malformed (header not JSON)")
        return total
    end
    if header.kind ~= "object" then
        malformed(hitem, "JSON header is not a JSON object")
        return total
    end
    local fields = {}
    for _, m in ipairs(header.value) do fields[m.key] = m end
    add_members(hitem, tvb, 2, header, header_fields, f.header_field)
    local length = fields["content-length"]
    for _, name in ipairs(required) do
        if not fields[name] then
            malformed(hitem, 'missing required header "' .. name .. '"')
            pinfo.cols.info:set("wirelab: malformed (missing " .. name .. ")")
            return total
        end
    end
    local n = tonumber(length.value)
    if length.kind ~= "number" or not n or n < 0 or n ~= math.floor(n) then
        malformed(hitem, "content-length must be a non-negative integer")
        return total
    end
    local start = 2 + hlen
    if total - start < n then
        malformed(item, "content-length " .. n .. " is larger than what was sent")
        return total
    end
    local crange = tvb(start, n)
    local ctype = fields["content-type"].value
    local citem = item:add(f.content, crange)
    local info = "wirelab: " .. n .. "-byte " .. tostring(ctype) .. " content"
    if ctype == "text/json" then
        local text = crange:raw()
        citem:add(f.content_text, crange, text)
        local content, cwhy = parse_json(text)
        if not content then
            malformed(citem, "content is not valid JSON: " .. cwhy)
            pinfo.cols.info:set("wirelab: malformed (content not JSON)")
            return total
        end
        if content.kind == "object" then
            add_members(citem, tvb, start, content, content_fields, f.member)
            local parts = {}
            for _, m in ipairs(content.value) do parts[#parts + 1] = m.key .. "=" .. shown(m) end
            info = "wirelab: " .. table.concat(parts, ", ")
        end
    end
    pinfo.cols.info:set(info)
    return total
end

local function dissect_message_safely(tvb, pinfo, tree)
    local ok, n = pcall(dissect_message, tvb, pinfo, tree)
    if ok then return n end
    local item = tree:add(wirelab, tvb())
    malformed(item, "could not be dissected: " .. tostring(n))
    return tvb:len()
end

function wirelab.dissector(tvb, pinfo, tree)
    local need = get_len(tvb, pinfo, 0)
    if need == 0 or need > tvb:len() then
        -- Shown while TCP gathers the rest; a stream that ends here leaves
        -- it as the only sign of the message.
        local item = tree:add(wirelab, tvb())
        local text = need == 0 and "header not complete yet"
            or ("have " .. tvb:len() .. " of " .. need .. " bytes")
        item:add_proto_expert_info(e_incomplete, "incomplete message: " .. text)
    end
    dissect_tcp_pdus(tvb, tree, 2, get_len, dissect_message_safely, true)
    return tvb:len()
end

-- A stream is taken for the tutorial's when it starts with a 2-byte length
-- and then '{' (a JSON object), which is also how its malformed frames
-- start; anything else is left to other dissectors.
local function heuristic(tvb, pinfo, tree)
    if tvb:len() < 3 or tvb(2, 1):uint() ~= 0x7B then return false end
    pinfo.conversation = wirelab
    -- dissect_tcp_pdus cannot ask TCP for more from a heuristic call, so
    -- this first call splits and gathers by hand; later segments go to the
    -- conversation's dissector (set above), which uses it.
    local offset = 0
    while offset < tvb:len() do
        local need = get_len(tvb, pinfo, offset)
        if need == 0 or offset + need > tvb:len() then
            local item = tree:add(wirelab, tvb(offset))
            item:add_proto_expert_info(e_incomplete, "incomplete message: "
                .. (need == 0 and "header not complete yet" or ("need " .. need .. " bytes")))
            pinfo.desegment_offset = offset
            pinfo.desegment_len = need == 0 and DESEGMENT_ONE_MORE_SEGMENT or (offset + need - tvb:len())
            return true
        end
        dissect_message_safely(tvb(offset, need):tvb(), pinfo, tree)
        offset = offset + need
    end
    return true
end

local registered_port = 0
function wirelab.prefs_changed()
    local tcp = DissectorTable.get("tcp.port")
    if registered_port ~= 0 then tcp:remove(registered_port, wirelab) end
    registered_port = wirelab.prefs.port
    if registered_port ~= 0 then tcp:add(registered_port, wirelab) end
end

DissectorTable.get("tcp.port"):add(wirelab.prefs.port, wirelab)
registered_port = wirelab.prefs.port
wirelab:register_heuristic("tcp", heuristic)
