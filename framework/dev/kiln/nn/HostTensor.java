package dev.kiln.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor held in host memory, as read from or written to a checkpoint file.
 *
 * <p>The bytes are little-endian, row-major, exactly as safetensors stores them. BF16 is kept as raw
 * bits here and widened to F32 only when an NDArray is made, because DJL aborts the JVM on BF16 arrays.
 */
public final class HostTensor {

    /** Element types that checkpoints use. Names are the safetensors dtype strings. */
    public enum DType {
        F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

        public final int bytes;

        DType(int bytes) {
            this.bytes = bytes;
        }

        public static DType parse(String s) {
            try {
                return DType.valueOf(s.toUpperCase());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unsupported tensor dtype '" + s + "' (supported: "
                        + Arrays.toString(values()) + ")");
            }
        }
    }

    private final DType dtype;
    private final long[] shape;
    private final ByteBuffer data;

    /** Wraps {@code data} (its remaining bytes, little-endian) without copying. */
    public HostTensor(DType dtype, long[] shape, ByteBuffer data) {
        long n = numel(shape);
        if ((long) data.remaining() != n * dtype.bytes) {
            throw new IllegalArgumentException("tensor data has " + data.remaining() + " bytes, shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + n * dtype.bytes);
        }
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    public static HostTensor ofFloats(long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new HostTensor(DType.F32, shape, b);
    }

    /** Copies an NDArray to the host (F32, F16, F64, I64, I32, I8, U8, BOOL). */
    public static HostTensor of(NDArray array) {
        DType t;
        switch (array.getDataType()) {
            case FLOAT32: t = DType.F32; break;
            case FLOAT16: t = DType.F16; break;
            case FLOAT64: t = DType.F64; break;
            case INT64: t = DType.I64; break;
            case INT32: t = DType.I32; break;
            case INT8: t = DType.I8; break;
            case UINT8: t = DType.U8; break;
            case BOOLEAN: t = DType.BOOL; break;
            default: throw new IllegalArgumentException("cannot store dtype " + array.getDataType());
        }
        byte[] bytes = array.toByteArray();
        return new HostTensor(t, array.getShape().getShape(), ByteBuffer.wrap(bytes));
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        return numel(shape);
    }

    /** A read-only little-endian view of the raw bytes. */
    public ByteBuffer bytes() {
        return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Values widened to float (F32, F16, BF16, F64, integer types). */
    public float[] toFloats() {
        int n = Math.toIntExact(numel());
        float[] out = new float[n];
        ByteBuffer b = bytes();
        switch (dtype) {
            case F32: b.asFloatBuffer().get(out); break;
            case F16: for (int i = 0; i < n; i++) out[i] = halfToFloat(b.getShort(2 * i)); break;
            case BF16: for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16); break;
            case F64: for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(8 * i); break;
            case I64: for (int i = 0; i < n; i++) out[i] = b.getLong(8 * i); break;
            case I32: for (int i = 0; i < n; i++) out[i] = b.getInt(4 * i); break;
            case I16: for (int i = 0; i < n; i++) out[i] = b.getShort(2 * i); break;
            case I8: for (int i = 0; i < n; i++) out[i] = b.get(i); break;
            case U8: case BOOL: for (int i = 0; i < n; i++) out[i] = b.get(i) & 0xff; break;
            default: throw new IllegalStateException(dtype.toString());
        }
        return out;
    }

    /**
     * Makes an NDArray on {@code manager}'s device. F32 stays F32; BF16 and F16 become F32 unless
     * {@code keepHalf} (then F16 stays F16 and BF16 becomes F16 via F32).
     */
    public NDArray toNDArray(NDManager manager, boolean keepHalf) {
        Shape s = new Shape(shape);
        switch (dtype) {
            case F32: return manager.create(copyDirect(), s, DataType.FLOAT32);
            case F64: return manager.create(copyDirect(), s, DataType.FLOAT64);
            case I64: return manager.create(copyDirect(), s, DataType.INT64);
            case I32: return manager.create(copyDirect(), s, DataType.INT32);
            case I8: return manager.create(copyDirect(), s, DataType.INT8);
            case U8: return manager.create(copyDirect(), s, DataType.UINT8);
            case BOOL: return manager.create(copyDirect(), s, DataType.BOOLEAN);
            case F16:
                if (keepHalf) return manager.create(copyDirect(), s, DataType.FLOAT16);
                return manager.create(toFloats(), s);
            case BF16: {
                NDArray f = manager.create(toFloats(), s);
                return keepHalf ? f.toType(DataType.FLOAT16, false) : f;
            }
            default: throw new IllegalArgumentException("cannot make an NDArray of " + dtype);
        }
    }

    /** F32 NDArray (half types widened). */
    public NDArray toNDArray(NDManager manager) {
        return toNDArray(manager, false);
    }

    private ByteBuffer copyDirect() {
        ByteBuffer src = bytes();
        ByteBuffer d = ByteBuffer.allocateDirect(src.remaining()).order(ByteOrder.nativeOrder());
        d.put(src);
        d.flip();
        return d;
    }

    /** IEEE 754 binary16 to float (Java 17 has no Float.float16ToFloat). */
    public static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        if (exp == 0) {
            if (mant == 0) return Float.intBitsToFloat(sign);
            float v = mant / 16777216f; // mant * 2^-24, a subnormal half
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** float to IEEE 754 binary16, round-to-nearest-even. */
    public static short floatToHalf(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int exp = (x >>> 23) & 0xff;
        int mant = x & 0x7fffff;
        if (exp == 0xff) return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        int e = exp - 127 + 15;
        if (e >= 0x1f) return (short) (sign | 0x7c00);
        if (e <= 0) {
            if (e < -10) return (short) sign;
            mant |= 0x800000;
            int shift = 14 - e;
            int half = mant >>> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) != 0)) half++;
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) half++;
        return (short) (sign | half);
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
