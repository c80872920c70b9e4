#!/usr/bin/env python3
"""GGUF fixtures from llama.cpp's own Python package (gguf-py), an implementation independent of
tqlib's, for tests/format/test_gguf.cpp. Run through scripts/reference/make-gguf-fixtures, which
puts gguf-py on PYTHONPATH and picks a python3 that has numpy.

  gguf_fixtures.py write OUT_DIR
      OUT_DIR/gguf_py_reference.gguf: every metadata value type (nested arrays too), alignment 64,
      and tensors F32, F16, BF16, Q8_0, Q4_0, TQ1_0, TQ2_0 quantized by gguf-py (each with an F32
      '<name>.ref' that gguf-py's dequantize() makes of it), Q4_1, Q5_0, Q5_1 likewise, Q4_K, Q5_K, Q6_K byte
      patterns with their dequantize(), and a Q2_K tensor tqlib refuses.
      OUT_DIR/gguf_py_reference.json: what gguf-py's GGUFReader reads back from that file (every
      key with its type and value, every tensor with its type, ne, absolute data offset and size),
      which the C++ test compares tqlib's reader against.
  gguf_fixtures.py check FILE
      Reads FILE (tests/format/fixtures/tqlib_written.gguf, written by tqlib's gguf::writer; the C++
      test checks that the committed file is byte for byte what the writer makes) with GGUFReader
      and asserts every key, type, value and tensor that the C++ test put in it.
"""
import json
import os
import sys

import numpy as np

import gguf
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V
from gguf import quants

ARCH = "tqlibtest"


def ramp(n, scale, phase=0.1):
    return (scale * np.sin(0.37 * np.arange(n, dtype=np.float64) + phase)).astype(np.float32)


def write(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "gguf_py_reference.gguf")
    w = gguf.GGUFWriter(path, ARCH)
    w.add_custom_alignment(64)
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 3.14159)
    w.add_uint64("test.u64", 2**63 + 5)
    w.add_int64("test.i64", -(2**62) - 3)
    w.add_float64("test.f64", 2.718281828459045)
    w.add_bool("test.bool_true", True)
    w.add_bool("test.bool_false", False)
    w.add_string("test.string", "h\u00e9llo w\u00f6rld \u2713")
    w.add_key_value("test.arr.u8", [0, 1, 255], V.ARRAY, V.UINT8)
    w.add_key_value("test.arr.i8", [-128, 0, 127], V.ARRAY, V.INT8)
    w.add_key_value("test.arr.u16", [0, 65535], V.ARRAY, V.UINT16)
    w.add_key_value("test.arr.i16", [-32768, 32767], V.ARRAY, V.INT16)
    w.add_key_value("test.arr.u32", [1, 4294967295], V.ARRAY, V.UINT32)
    w.add_key_value("test.arr.i32", [-7, 0, 7], V.ARRAY, V.INT32)
    w.add_key_value("test.arr.u64", [2**64 - 1, 3], V.ARRAY, V.UINT64)
    w.add_key_value("test.arr.i64", [-(2**63), 2**63 - 1], V.ARRAY, V.INT64)
    w.add_key_value("test.arr.f32", [0.5, -1.25, 1e-3], V.ARRAY, V.FLOAT32)
    w.add_key_value("test.arr.f64", [1.0 / 3.0, -2.5e300], V.ARRAY, V.FLOAT64)
    w.add_key_value("test.arr.bool", [True, False, True], V.ARRAY, V.BOOL)
    w.add_key_value("test.arr.string", ["a", "", "\u00fc\u4e2d"], V.ARRAY, V.STRING)
    # Nested arrays: gguf-py types inner lists from their first element (int -> int32).
    w.add_key_value("test.arr.nested_i32", [[1, 2], [3]], V.ARRAY)
    w.add_key_value("test.arr.nested_str", [["x"], ["y", "z"]], V.ARRAY)
    w.add_key_value("test.arr.nested3", [[[1]], [[2, 3]]], V.ARRAY)
    w.add_array("tokenizer.ggml.tokens", ["<|endoftext|>", "\u0120the", "a", "b"])
    w.add_key_value("tokenizer.ggml.token_type", [3, 1, 1, 1], V.ARRAY, V.INT32)
    w.add_key_value("tokenizer.ggml.scores", [0.0, -1.0, -2.0, -3.0], V.ARRAY, V.FLOAT32)
    # gguf-py's block sizes and bytes per block: tqlib's table must agree with them.
    sizes = []
    for t, (blk, size) in sorted(gguf.GGML_QUANT_SIZES.items()):
        sizes += [int(t), blk, size]
    w.add_key_value("test.ggml_quant_sizes", sizes, V.ARRAY, V.UINT32)

    w.add_tensor("f32.vec", ramp(5, 1.0))
    w.add_tensor("f32.mat", ramp(12, 2.0).reshape(3, 4))
    w.add_tensor("f32.3d", ramp(24, 0.5).reshape(2, 3, 4))
    w.add_tensor("f16.mat", ramp(16, 1.5).astype(np.float16).reshape(2, 8))
    for name, qt, shape, scale in [("bf16.mat", Q.BF16, (2, 8), 3.0), ("q8_0.mat", Q.Q8_0, (2, 64), 0.8),
                                   ("q4_0.mat", Q.Q4_0, (2, 64), 0.6), ("tq1_0.mat", Q.TQ1_0, (1, 256), 0.9),
                                   ("tq2_0.mat", Q.TQ2_0, (1, 256), 0.7), ("q4_1.mat", Q.Q4_1, (2, 64), 0.5),
                                   ("q5_0.mat", Q.Q5_0, (2, 64), 0.9), ("q5_1.mat", Q.Q5_1, (2, 64), 1.1)]:
        x = ramp(int(np.prod(shape)), scale, 0.3).reshape(shape)
        if qt in (Q.TQ1_0, Q.TQ2_0):
            x = np.round(x / scale) * scale * 0.5  # ternary-valued, as a BitNet weight would be
        packed = quants.quantize(x, qt)
        w.add_tensor(name, packed, raw_dtype=qt)
        w.add_tensor(name + ".ref", quants.dequantize(packed, qt).astype(np.float32))
    # gguf-py has no K-quant quantizer: byte patterns (with finite f16 scales) and its dequantize().
    for name, qt, size, scale_at in [("q4_k.raw", Q.Q4_K, 144, (0, 2)), ("q5_k.raw", Q.Q5_K, 176, (0, 2)),
                                     ("q6_k.raw", Q.Q6_K, 210, (208,))]:
        raw = (np.arange(2 * size, dtype=np.uint32) * 7 % 251).astype(np.uint8).reshape(2, size)
        for at in scale_at:
            raw[:, at:at + 2] = np.array([0.0123, -0.0042], dtype=np.float16).view(np.uint8).reshape(2, 2)
        w.add_tensor(name, raw, raw_dtype=qt)
        w.add_tensor(name + ".ref", quants.dequantize(raw, qt).astype(np.float32))
    # A type tqlib has no codec for.
    w.add_tensor("q2_k.raw", (np.arange(84, dtype=np.uint32) * 5 % 251).astype(np.uint8).reshape(1, 84), raw_dtype=Q.Q2_K)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    describe(path, os.path.join(out_dir, "gguf_py_reference.json"))
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def field_value(f):
    """The value of a field as plain JSON: nested arrays are walked through parts by hand, since
    ReaderField.contents() flattens them."""
    t = f.types[0]
    if t != V.ARRAY:
        return f.contents()
    if f.types[-1] != V.ARRAY and len(f.types) == 2:
        return f.contents()
    return None  # nested: described by its types only; the C++ test checks the values itself


def describe(path, json_path):
    r = gguf.GGUFReader(path)
    keys = []
    for name, f in r.fields.items():
        if name.startswith("GGUF."):
            continue
        keys.append({"key": name, "types": [int(t) for t in f.types], "value": field_value(f)})
    tensors = []
    for t in r.tensors:
        tensors.append({"name": t.name, "type": int(t.tensor_type), "ne": [int(x) for x in t.shape],
                        "offset": int(t.data_offset), "bytes": int(t.n_bytes)})
    doc = {"alignment": int(r.alignment), "data_offset": int(r.data_offset), "keys": keys, "tensors": tensors}
    with open(json_path, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=True, allow_nan=False)
        f.write("\n")


def check(path):
    """Asserts what tests/format/test_gguf.cpp's 'tqlib_written' writer call put in the file."""
    r = gguf.GGUFReader(path)
    fields = r.fields

    def val(key, types):
        f = fields[key]
        assert [int(t) for t in f.types] == [int(t) for t in types], (key, f.types, types)
        return f.contents()

    assert r.alignment == 64, r.alignment
    assert val("general.architecture", [V.STRING]) == "tqlib"
    assert val("t.u8", [V.UINT8]) == 250
    assert val("t.i8", [V.INT8]) == -5
    assert val("t.u16", [V.UINT16]) == 65000
    assert val("t.i16", [V.INT16]) == -12345
    assert val("t.u32", [V.UINT32]) == 3000000000
    assert val("t.i32", [V.INT32]) == -123456789
    assert val("t.u64", [V.UINT64]) == 2**64 - 2
    assert val("t.i64", [V.INT64]) == -(2**63) + 1
    assert val("t.f32", [V.FLOAT32]) == np.float32(0.1)
    assert val("t.f64", [V.FLOAT64]) == 0.1
    assert val("t.bool", [V.BOOL]) is True
    assert val("t.string", [V.STRING]) == "gr\u00fc\u00df \u2603"
    assert val("t.arr.u16", [V.ARRAY, V.UINT16]) == [1, 2, 65535]
    assert val("t.arr.i64", [V.ARRAY, V.INT64]) == [-1, 2**62]
    assert val("t.arr.f32", [V.ARRAY, V.FLOAT32]) == [np.float32(1.5), np.float32(-0.25)]
    assert val("t.arr.f64", [V.ARRAY, V.FLOAT64]) == [0.125]
    assert val("t.arr.bool", [V.ARRAY, V.BOOL]) == [False, True]
    assert val("t.arr.string", [V.ARRAY, V.STRING]) == ["one", "", "dr\u00e9i"]
    nested = fields["t.arr.nested"]
    assert [int(t) for t in nested.types[:2]] == [V.ARRAY, V.ARRAY], nested.types

    tensors = {t.name: t for t in r.tensors}
    assert list(tensors) == ["w.f32", "w.f16", "w.q8_0", "w.tq2_0"], list(tensors)
    f32 = tensors["w.f32"]
    assert f32.tensor_type == Q.F32 and list(f32.shape) == [4, 3]
    assert np.array_equal(f32.data.reshape(-1), np.arange(12, dtype=np.float32) * 0.5 - 2)
    f16 = tensors["w.f16"]
    assert f16.tensor_type == Q.F16 and list(f16.shape) == [8]
    assert np.array_equal(f16.data.astype(np.float32), np.arange(8, dtype=np.float32) - 4)
    for name, qt, ne in [("w.q8_0", Q.Q8_0, [64, 2]), ("w.tq2_0", Q.TQ2_0, [256, 1])]:
        t = tensors[name]
        assert t.tensor_type == qt and list(t.shape) == ne, (name, t.tensor_type, t.shape)
        deq = quants.dequantize(t.data, qt).reshape(-1)
        ref = ramp(ne[0] * ne[1], 1.0, 0.3)
        if qt == Q.TQ2_0:
            ref = np.round(ref)
        # tqlib encoded these rows itself: gguf-py's dequantization must give back the weights
        # to within the codec's rounding.
        err = np.max(np.abs(deq - ref))
        assert err < (0.01 if qt == Q.Q8_0 else 1e-6), (name, err)
    for t in r.tensors:
        assert t.data_offset % 64 == 0, (t.name, t.data_offset)
    print(f"{path}: gguf-py reads every key, type, value and tensor tqlib wrote")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        sys.exit(__doc__)
