"""Golden-output tests for tools/gen_insns.py: fused instructions (`fuse`), sequences (`seq`) and the
accumulator variants, each generated from a small hand-written .def file, plus the errors that malformed
input gives.

The expected C below is written by hand from the rules in the generator's docstrings and
docs/interpreter.md, not copied from its output. The rules they follow, for reading them:
- an instruction's words are its op word, then one per input slot, one per output slot, then its
  immediates (a u64 takes two, low word first), so insn_size counts all of them;
- a handler reads inputs and immediates, declares outputs, runs the body in braces, stores each output
  to its slot and, when numeric, to the accumulator (SET_ACC_*), then unless `control` advances pc by
  insn_size and dispatches;
- a fused op runs the first body, feeds its output to the second's first input, then the second body;
  its inputs are the first's then the second's remaining ones, immediates the first's then the
  second's, flags the second's;
- an accumulator variant (NAME__acc) reads its first input from the accumulator, keeps every word of
  the original and reports the original's source line;
- a sequence runs each part's whole handler, each in its own braces, dispatching only at the end; it
  stands in for the first part's op word only, so its size is the first part's size.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _load_gen_insns() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_insns", ROOT / "tools" / "gen_insns.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses looks the defining module up in sys.modules while building Insn.
    sys.modules.setdefault("gen_insns", module)
    spec.loader.exec_module(module)
    return module


gen_insns = _load_gen_insns()


def generate(tmp_path: Path, **defs: str) -> dict[str, str]:
    """Run the generator on these .def files (name without .def: text)."""
    for name, text in defs.items():
        (tmp_path / f"{name}.def").write_text(text)
    return gen_insns.generate(tmp_path)


def handler(inc: str, name: str) -> str:
    """One TARGET case of wr_interp_gen.inc, from its comment line to its closing brace."""
    lines = inc.splitlines()
    start = lines.index(f"TARGET({name}) {{") - 1
    return "\n".join(lines[start : lines.index("}", start) + 1]) + "\n"


def definition(c: str, head: str) -> str:
    """One table or function of wr_insn_gen.c/.h, from the line starting with `head` to its closing line."""
    lines = c.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(head))
    end = next(i for i in range(start, len(lines)) if lines[i] in ("}", "};"))
    return "\n".join(lines[start : end + 1]) + "\n"


# ---- fuse: a compare-and-branch ----

LT_S = """insn i32_lt_s 0x48 "i32.lt_s" (i32 a, i32 b -> i32 r) {
    r = (int32_t)a < (int32_t)b;
}
"""

BR_IF = """insn br_if - "br_if" (i32 c -> ) [i32 target] control {
    if (c) {
        pc += target;
        NEXT();
    }
    pc += insn_size;
    NEXT();
}
"""

# Line 1 of fused.def.
FUSE_BRANCH = "fuse br_if_i32_lt_s = i32_lt_s + br_if\n"

# Words: op, a, b (the comparison's inputs; br_if's only input is fed), target (br_if's immediate): 4.
# The comparison's result lives in a local, never in a slot, and br_if is `control`, so the fused op
# sets pc itself: no store, no pc advance after the body.
FUSED_BRANCH_CASE = """\
/* i32.lt_s+br_if  (fused.def:1) */
TARGET(br_if_i32_lt_s) {
    uint32_t a = SLOT_I32(pc[1]);
    uint32_t b = SLOT_I32(pc[2]);
    int32_t target = (int32_t)pc[3];
    enum { insn_size = 4 };
    (void)a;
    (void)b;
    (void)target;
    {
    uint32_t r;
    {
    r = (int32_t)a < (int32_t)b;
    }
    uint32_t c = r;
    if (c) {
        pc += target;
        NEXT();
    }
    pc += insn_size;
    NEXT();
    }
}
"""

# A fused op is also a plain op with an i32 first input, so it gets a variant taking `a` from the accumulator.
FUSED_BRANCH_ACC_CASE = FUSED_BRANCH_CASE.replace("TARGET(br_if_i32_lt_s)", "TARGET(br_if_i32_lt_s__acc)").replace(
    "uint32_t a = SLOT_I32(pc[1]);", "uint32_t a = ACC_I32;"
)

# The translator asks wr_fuse(previous op, this op): only the declared pair answers.
FUSE_SWITCH = """\
unsigned wr_fuse(unsigned first, unsigned second)
{
    switch (first) {
    case WR_OP_i32_lt_s:
        switch (second) {
        case WR_OP_br_if:
            return WR_OP_br_if_i32_lt_s;
        default:
            return 0;
        }
    default:
        return 0;
    }
}
"""


def test_fuse_compare_and_branch(tmp_path: Path) -> None:
    out = generate(tmp_path, cmp=LT_S, control=BR_IF, fused=FUSE_BRANCH)
    inc, c = out["wr_interp_gen.inc"], out["wr_insn_gen.c"]
    assert handler(inc, "br_if_i32_lt_s") == FUSED_BRANCH_CASE
    assert handler(inc, "br_if_i32_lt_s__acc") == FUSED_BRANCH_ACC_CASE
    assert definition(c, "unsigned wr_fuse(") == FUSE_SWITCH
    assert '    [WR_OP_br_if_i32_lt_s] = "i32.lt_s+br_if",' in c.splitlines()
    assert "    [WR_OP_br_if_i32_lt_s] = 4," in c.splitlines()
    # Internal only: the fused op has no wasm opcode, so it is not in the translator's opcode table.
    assert "WR_OP_br_if_i32_lt_s," not in definition(c, "const wr_opinfo wr_wasm_ops")


# A pair where the second part has an input of its own and both have immediates (one of them u64).
PAIR = """insn add_k - "add_k" (i32 a -> i32 s) [u32 k] {
    s = a + k;
}

insn pick - "pick" (i32 c, i64 v -> i64 r) [u64 alt] {
    r = c ? v : alt;
}

fuse pick_add_k = add_k + pick
"""

# Inputs: add_k's `a`, then pick's remaining `v`; output pick's `r`; immediates add_k's `k`, then pick's
# `alt`. Words: op 0, a 1, v 2, r 3, k 4, alt 5-6: 7. Not `control`, so the op advances pc and
# dispatches, and its i64 result goes to its slot and the integer accumulator.
PAIR_CASE = """\
/* add_k+pick  (pair.def:9) */
TARGET(pick_add_k) {
    uint32_t a = SLOT_I32(pc[1]);
    uint64_t v = SLOT_I64(pc[2]);
    uint64_t r;
    uint32_t k = (uint32_t)pc[4];
    uint64_t alt = (uint64_t)pc[5] | ((uint64_t)pc[6] << 32);
    enum { insn_size = 7 };
    (void)a;
    (void)v;
    (void)k;
    (void)alt;
    {
    uint32_t s;
    {
    s = a + k;
    }
    uint32_t c = s;
    r = c ? v : alt;
    }
    SET_I64(pc[3], r);
    SET_ACC_I64(r);
    pc += insn_size;
    NEXT();
}
"""


def test_fuse_operand_order(tmp_path: Path) -> None:
    out = generate(tmp_path, pair=PAIR)
    assert handler(out["wr_interp_gen.inc"], "pick_add_k") == PAIR_CASE
    assert "    [WR_OP_pick_add_k] = 7," in out["wr_insn_gen.c"].splitlines()


# ---- seq: whole instructions in a row ----

ADD = """insn i32_add 0x6A "i32.add" (i32 a, i32 b -> i32 r) commutative {
    r = a + b;
}
"""

# Line 1 of seqs.def; the middle part is an accumulator variant, which a seq may name.
SEQ = "seq i32_add + i32_add__acc + br_if\n"

# Each part's own handler in its own braces (its own insn_size), indented one level. The first two
# fall through: each ends by moving pc past itself, so the next part reads its own words at pc[1...],
# but none dispatches; the last (br_if, control) dispatches itself. The middle part reads `a` from the
# accumulator the first part just set.
SEQ3_CASE = """\
/* i32.add;i32.add;br_if  (seqs.def:1) */
TARGET(seq__i32_add__i32_add__acc__br_if) {
    {
        uint32_t a = SLOT_I32(pc[1]);
        uint32_t b = SLOT_I32(pc[2]);
        uint32_t r;
        enum { insn_size = 4 };
        (void)a;
        (void)b;
        {
        r = a + b;
        }
        SET_I32(pc[3], r);
        SET_ACC_I32(r);
        pc += insn_size;
    }
    {
        uint32_t a = ACC_I32;
        uint32_t b = SLOT_I32(pc[2]);
        uint32_t r;
        enum { insn_size = 4 };
        (void)a;
        (void)b;
        {
        r = a + b;
        }
        SET_I32(pc[3], r);
        SET_ACC_I32(r);
        pc += insn_size;
    }
    {
        uint32_t c = SLOT_I32(pc[1]);
        int32_t target = (int32_t)pc[2];
        enum { insn_size = 3 };
        (void)c;
        (void)target;
        {
        if (c) {
            pc += target;
            NEXT();
        }
        pc += insn_size;
        NEXT();
        }
    }
}
"""

# The two-part prefix is an op too (the translator extends a run one instruction at a time); its last
# part falls through, so the sequence dispatches after it.
SEQ2_CASE = """\
/* i32.add;i32.add  (seqs.def:1) */
TARGET(seq__i32_add__i32_add__acc) {
    {
        uint32_t a = SLOT_I32(pc[1]);
        uint32_t b = SLOT_I32(pc[2]);
        uint32_t r;
        enum { insn_size = 4 };
        (void)a;
        (void)b;
        {
        r = a + b;
        }
        SET_I32(pc[3], r);
        SET_ACC_I32(r);
        pc += insn_size;
    }
    {
        uint32_t a = ACC_I32;
        uint32_t b = SLOT_I32(pc[2]);
        uint32_t r;
        enum { insn_size = 4 };
        (void)a;
        (void)b;
        {
        r = a + b;
        }
        SET_I32(pc[3], r);
        SET_ACC_I32(r);
        pc += insn_size;
        NEXT();
    }
}
"""

# wr_seq(run so far, next op): the first part and the second make the pair; the pair and the third the triple.
SEQ_SWITCH = """\
unsigned wr_seq(unsigned first, unsigned second)
{
    switch (first) {
    case WR_OP_i32_add:
        switch (second) {
        case WR_OP_i32_add__acc:
            return WR_OP_seq__i32_add__i32_add__acc;
        default:
            return 0;
        }
    case WR_OP_seq__i32_add__i32_add__acc:
        switch (second) {
        case WR_OP_br_if:
            return WR_OP_seq__i32_add__i32_add__acc__br_if;
        default:
            return 0;
        }
    default:
        return 0;
    }
}
"""


def test_seq(tmp_path: Path) -> None:
    out = generate(tmp_path, arith=ADD, control=BR_IF, seqs=SEQ)
    inc, c = out["wr_interp_gen.inc"], out["wr_insn_gen.c"]
    assert handler(inc, "seq__i32_add__i32_add__acc__br_if") == SEQ3_CASE
    assert handler(inc, "seq__i32_add__i32_add__acc") == SEQ2_CASE
    assert definition(c, "unsigned wr_seq(") == SEQ_SWITCH
    # A sequence replaces only the first part's op word: its size is that part's (4), not the run's (11).
    sizes = definition(c, "const uint8_t wr_op_size[")
    assert "    [WR_OP_seq__i32_add__i32_add__acc] = 4," in sizes.splitlines()
    assert "    [WR_OP_seq__i32_add__i32_add__acc__br_if] = 4," in sizes.splitlines()
    # It dispatches by itself, so the translator must not treat it as falling through.
    assert definition(c, "const uint8_t wr_op_falls_through[") == (
        "const uint8_t wr_op_falls_through[WR_OP_COUNT] = {\n"
        "    [WR_OP_i32_add] = 1,\n"
        "    [WR_OP_i32_add__acc] = 1,\n"
        "};\n"
    )


def test_seq_prefix_made_once(tmp_path: Path) -> None:
    """A pair declared on its own and as the start of a triple is one op."""
    out = generate(tmp_path, arith=ADD, control=BR_IF, seqs="seq i32_add + i32_add\nseq i32_add + i32_add + br_if\n")
    enum = definition(out["wr_insn_gen.h"], "enum wr_op {")
    seqs = [line.split()[0] for line in enum.splitlines() if "WR_OP_seq__" in line]
    assert seqs == ["WR_OP_seq__i32_add__i32_add", "WR_OP_seq__i32_add__i32_add__br_if"]


# ---- accumulator variants ----

# Which instructions get a variant: plain ones (a wasm opcode, not control, not manual) whose first
# input is a number. Not copy (internal only), select (manual), v128.not (a vector first input) nor the
# splat (a number in, a vector out, nothing else); the load-splat does (its address, a memarg). noacc
# keeps the wait's result out of the accumulator table but not its variant: its input is an i32.
ACC = """insn i32_sub 0x6B "i32.sub" (i32 a, i32 b -> i32 r) {
    r = a - b;
}

insn f64_mul 0xA2 "f64.mul" (f64 a, f64 b -> f64 r) {
    r = a * b;
}

insn i32x4_splat 0xFD:17 "i32x4.splat" (i32 x -> v128 r) {
    r = wr_i32x4_splat(x);
}

insn v128_load32_splat 0xFD:9 "v128.load32_splat" (i32 addr -> v128 r) memarg(4) {
    r = load_splat(addr + offset);
}

insn v128_not 0xFD:77 "v128.not" (v128 a -> v128 r) {
    r = wr_v128_not(a);
}

insn wait 0xFE:0x01 "wait" (i32 addr -> i32 r) noacc {
    r = addr;
}

insn copy - "copy" (i64 a -> i64 r) {
    r = a;
}

insn select 0x1B "select" (i64 a, i64 b, i32 c -> i64 r) manual {
    r = c ? a : b;
}
"""

# The variants come after every declared instruction, in declaration order.
ACC_ENUM = """\
enum wr_op {
    WR_OP_invalid = 0,
    WR_OP_i32_sub = 1,
    WR_OP_f64_mul = 2,
    WR_OP_i32x4_splat = 3,
    WR_OP_v128_load32_splat = 4,
    WR_OP_v128_not = 5,
    WR_OP_wait = 6,
    WR_OP_copy = 7,
    WR_OP_select = 8,
    WR_OP_i32_sub__acc = 9,
    WR_OP_f64_mul__acc = 10,
    WR_OP_v128_load32_splat__acc = 11,
    WR_OP_wait__acc = 12,
    WR_OP_v128_load32_splat__mx = 13,
    WR_OP_COUNT = 14,
};
"""

# Same words as f64.mul (the first input's word stays, unread); `a` from the f64 accumulator; the source
# line is the original's (line 5 of acc.def).
F64_MUL_ACC_CASE = """\
/* f64.mul  (acc.def:5) */
TARGET(f64_mul__acc) {
    double a = ACC_F64;
    double b = SLOT_F64(pc[2]);
    double r;
    enum { insn_size = 4 };
    (void)a;
    (void)b;
    {
    r = a * b;
    }
    SET_F64(pc[3], r);
    SET_ACC_F64(r);
    pc += insn_size;
    NEXT();
}
"""

# Words: op, addr, r, offset (memarg): 4.
LOAD_SPLAT_ACC_CASE = """\
/* v128.load32_splat  (acc.def:13) */
TARGET(v128_load32_splat__acc) {
    uint32_t addr = ACC_I32;
    wr_v128 r;
    uint32_t offset = (uint32_t)pc[3];
    enum { insn_size = 4 };
    (void)addr;
    (void)offset;
    {
    r = load_splat(addr + offset);
    }
    SET_V128(pc[2], r);
    pc += insn_size;
    NEXT();
}
"""

ACC_TABLE = """\
const uint16_t wr_op_acc[WR_OP_COUNT] = {
    [WR_OP_i32_sub] = WR_OP_i32_sub__acc,
    [WR_OP_f64_mul] = WR_OP_f64_mul__acc,
    [WR_OP_v128_load32_splat] = WR_OP_v128_load32_splat__acc,
    [WR_OP_wait] = WR_OP_wait__acc,
};
"""

ACC_BASE_TABLE = """\
const uint16_t wr_op_acc_base[WR_OP_COUNT] = {
    [WR_OP_i32_sub] = WR_OP_i32_sub,
    [WR_OP_f64_mul] = WR_OP_f64_mul,
    [WR_OP_i32x4_splat] = WR_OP_i32x4_splat,
    [WR_OP_v128_load32_splat] = WR_OP_v128_load32_splat,
    [WR_OP_v128_not] = WR_OP_v128_not,
    [WR_OP_wait] = WR_OP_wait,
    [WR_OP_copy] = WR_OP_copy,
    [WR_OP_select] = WR_OP_select,
    [WR_OP_i32_sub__acc] = WR_OP_i32_sub,
    [WR_OP_f64_mul__acc] = WR_OP_f64_mul,
    [WR_OP_v128_load32_splat__acc] = WR_OP_v128_load32_splat,
    [WR_OP_wait__acc] = WR_OP_wait,
    [WR_OP_v128_load32_splat__mx] = WR_OP_v128_load32_splat__mx,
};
"""

# Ops leaving one numeric result in the accumulator (its type): not the vector results, and not the
# wait (noacc), whose result may be written into its slot later by whoever ends the wait.
ACC_OUT_TABLE = """\
const uint8_t wr_op_acc_out[WR_OP_COUNT] = {
    [WR_OP_i32_sub] = WR_I32,
    [WR_OP_f64_mul] = WR_F64,
    [WR_OP_copy] = WR_I64,
    [WR_OP_select] = WR_I64,
    [WR_OP_i32_sub__acc] = WR_I32,
    [WR_OP_f64_mul__acc] = WR_F64,
};
"""

# Ops whose first input is a number (its type), what the translator matches against wr_op_acc_out.
IN0_TABLE = """\
const uint8_t wr_op_in0[WR_OP_COUNT] = {
    [WR_OP_i32_sub] = WR_I32,
    [WR_OP_f64_mul] = WR_F64,
    [WR_OP_i32x4_splat] = WR_I32,
    [WR_OP_v128_load32_splat] = WR_I32,
    [WR_OP_wait] = WR_I32,
    [WR_OP_copy] = WR_I64,
    [WR_OP_select] = WR_I64,
    [WR_OP_i32_sub__acc] = WR_I32,
    [WR_OP_f64_mul__acc] = WR_F64,
    [WR_OP_v128_load32_splat__acc] = WR_I32,
    [WR_OP_wait__acc] = WR_I32,
    [WR_OP_v128_load32_splat__mx] = WR_I32,
};
"""


def test_acc_variants(tmp_path: Path) -> None:
    out = generate(tmp_path, acc=ACC)
    h, c, inc = out["wr_insn_gen.h"], out["wr_insn_gen.c"], out["wr_interp_gen.inc"]
    assert definition(h, "enum wr_op {") == ACC_ENUM
    assert handler(inc, "f64_mul__acc") == F64_MUL_ACC_CASE
    assert handler(inc, "v128_load32_splat__acc") == LOAD_SPLAT_ACC_CASE
    assert definition(c, "const uint16_t wr_op_acc[") == ACC_TABLE
    assert definition(c, "const uint16_t wr_op_acc_base[") == ACC_BASE_TABLE
    assert definition(c, "const uint8_t wr_op_acc_out[") == ACC_OUT_TABLE
    assert definition(c, "const uint8_t wr_op_in0[") == IN0_TABLE
    # A variant is only ever picked by the translator, never decoded from a wasm opcode.
    assert "__acc" not in definition(c, "const wr_opinfo wr_wasm_ops")


MX = """insn i32_load 0x28 "i32.load" (i32 addr -> i32 r) memarg(4) {
    r = wr_load_u32(MEM(addr, offset, 4));
}

insn v128_load8_lane 0xFD:84 "v128.load8_lane" (i32 addr, v128 v -> v128 r) memarg(1) lane(16) {
    r = wr_i8x16_replace_lane(v, lane, wr_load_u8(MEM(addr, offset, 1)));
}

insn notify 0xFE:0x00 "notify" (i32 addr -> i32 r) memarg(4) {
    uint8_t *p;
    ATOMIC_MEM(p, addr, offset, 4);
    r = wr_futex_notify(MEM_OBJ, p);
}
"""

# The any-memory variant of a memarg instruction: the address read from the whole slot (its low half for a
# 32-bit memory), a 64-bit offset, the memory immediate last, and the body's memory macros renamed.
LANE_MX_CASE = """\
/* v128.load8_lane  (mx.def:5) */
TARGET(v128_load8_lane__mx) {
    uint64_t addr = SLOT_I64(pc[1]);
    wr_v128 v = SLOT_V128(pc[2]);
    wr_v128 r;
    uint64_t offset = (uint64_t)pc[4] | ((uint64_t)pc[5] << 32);
    uint32_t lane = (uint32_t)pc[6];
    uint32_t memx = (uint32_t)pc[7];
    if (!(memx & WR_MEMX_64)) addr = (uint32_t)addr;
    enum { insn_size = 8 };
    (void)addr;
    (void)v;
    (void)offset;
    (void)lane;
    (void)memx;
    {
    r = wr_i8x16_replace_lane(v, lane, wr_load_u8(MEMX(addr, offset, 1)));
    }
    SET_V128(pc[3], r);
    pc += insn_size;
    NEXT();
}
"""


def test_mx_variants(tmp_path: Path) -> None:
    out = generate(tmp_path, mx=MX)
    h, c, inc = out["wr_insn_gen.h"], out["wr_insn_gen.c"], out["wr_interp_gen.inc"]
    assert handler(inc, "v128_load8_lane__mx") == LANE_MX_CASE
    assert "ATOMIC_MEMX(p, addr, offset, 4);" in handler(inc, "notify__mx")
    assert "wr_futex_notify(MEM_OBJX, p);" in handler(inc, "notify__mx")
    assert definition(c, "const uint16_t wr_op_mx[") == (
        "const uint16_t wr_op_mx[WR_OP_COUNT] = {\n"
        "    [WR_OP_i32_load] = WR_OP_i32_load__mx,\n"
        "    [WR_OP_v128_load8_lane] = WR_OP_v128_load8_lane__mx,\n"
        "    [WR_OP_notify] = WR_OP_notify__mx,\n"
        "};\n"
    )
    # Picked by the translator only; no accumulator variant of its own (the plain form keeps that).
    assert "__mx" not in definition(c, "const wr_opinfo wr_wasm_ops")
    assert "i32_load__mx__acc" not in h and "WR_OP_i32_load__acc" in h


def test_acc_variant_differs_only_in_first_input(tmp_path: Path) -> None:
    """Every handler line of i32_sub__acc is i32_sub's, but the first input's."""
    inc = generate(tmp_path, acc=ACC)["wr_interp_gen.inc"]
    plain = handler(inc, "i32_sub").splitlines()
    acc = handler(inc, "i32_sub__acc").splitlines()
    diff = [(p, a) for p, a in zip(plain, acc, strict=True) if p != a]
    assert diff == [
        ("TARGET(i32_sub) {", "TARGET(i32_sub__acc) {"),
        ("    uint32_t a = SLOT_I32(pc[1]);", "    uint32_t a = ACC_I32;"),
    ]


# ---- malformed input: a clear error naming the file and line ----

ERRORS = [
    pytest.param(
        'insn i32_add 0x6A "i32.add" (i32 a, i32 b -> i32 r {\n    r = a + b;\n}\n',
        "bad.def:1: cannot parse 'insn i32_add 0x6A \"i32.add\" (i32 a, i32 b -> i32 r {'",
        id="header-without-closing-paren",
    ),
    pytest.param(
        'insn i32_add 0x6A "i32.add" (i33 a, i32 b -> i32 r) {\n    r = a + b;\n}\n',
        "bad.def:1: bad operand 'i33 a'",
        id="unknown-slot-type",
    ),
    pytest.param(
        'insn i32_add 0x6A "i32.add" (i32 a, i32 b -> i32 r) fast {\n    r = a + b;\n}\n',
        "bad.def:1: unknown flags {'fast'}",
        id="unknown-flag",
    ),
    pytest.param(
        'insn i32_add 0x6A "i32.add" (i32 a -> i32 r) [u16 k] {\n    r = a + k;\n}\n',
        "bad.def:1: bad immediate 'u16 k'",
        id="unknown-immediate-type",
    ),
    pytest.param(
        'insn i32_add 0x6A "i32.add" (i32 a -> i32 r) [u32] {\n    r = a;\n}\n',
        "bad.def:1: bad immediate 'u32'",
        id="immediate-without-name",
    ),
    pytest.param(
        'insn i32_add 0xFB:1 "i32.add" (i32 a -> i32 r) {\n    r = a;\n}\n',
        "bad.def:1: unknown opcode prefix 0xFB",
        id="unknown-opcode-prefix",
    ),
    pytest.param(
        '\ninsn i32_add 0x6A "i32.add" (i32 a, i32 b -> i32 r) {\n    r = a + b;\n  }\n',
        "bad.def:2: body of i32_add never closes",
        id="body-never-closes",
    ),
    pytest.param(ADD + ADD, "bad.def:4: i32_add defined twice", id="defined-twice"),
    pytest.param(
        ADD + ADD.replace("i32_add", "i32_plus"),
        "bad.def:4: opcode of i32_plus taken by i32_add",
        id="opcode-taken",
    ),
    pytest.param(LT_S + "fuse br_if_i32_lt_s = i32_lt_s\n", "bad.def:4: cannot parse", id="fuse-one-part"),
    pytest.param(
        LT_S + "fuse br_if_i32_lt_s = i32_lt_s + br_if\n",
        "bad.def:4: unknown instruction in fuse br_if_i32_lt_s",
        id="fuse-unknown-part",
    ),
    pytest.param(
        BR_IF + "fuse twice = br_if + br_if\n",
        "bad.def:9: br_if must have one output and br_if an input",
        id="fuse-first-has-no-output",
    ),
    pytest.param(
        BR_IF + ACC + "fuse br_if_f64_mul = f64_mul + br_if\n",
        "bad.def:40: f64_mul produces f64, br_if takes i32",
        id="fuse-type-mismatch",
    ),
    pytest.param(
        PAIR.replace("-> i64 r) [u64 alt]", "-> i64 s) [u64 alt]"),
        "bad.def:9: operand names ['s'] clash in add_k and pick",
        id="fuse-operand-clash",
    ),
    pytest.param(ADD + "seq i32_add\n", "bad.def:4: cannot parse 'seq i32_add'", id="seq-one-part"),
    pytest.param(
        ADD + "seq i32_add + i32_mul + nope\n",
        "bad.def:4: unknown instruction in seq: i32_mul, nope",
        id="seq-unknown-parts",
    ),
    pytest.param(
        ADD + "seq i32_add + i32_add\nseq seq__i32_add__i32_add + i32_add\n",
        "bad.def:5: unknown instruction in seq: seq__i32_add__i32_add",
        id="seq-of-a-seq",
    ),
    pytest.param(
        ADD + BR_IF + "seq br_if + i32_add\n",
        "bad.def:12: br_if does not fall through, only the last in a seq may",
        id="seq-control-not-last",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_malformed_input(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SystemExit) as exc:
        generate(tmp_path, bad=text)
    # The whole message, from its start: file:line, then what is wrong.
    assert str(exc.value).startswith(message), str(exc.value)


def test_errors_name_the_right_file(tmp_path: Path) -> None:
    """With several .def files, the error points into the one that is wrong."""
    with pytest.raises(SystemExit, match=re.escape("b_seqs.def:2: unknown instruction in seq: i32_mul")):
        generate(tmp_path, a_arith=ADD, b_seqs="\nseq i32_add + i32_mul\n")
