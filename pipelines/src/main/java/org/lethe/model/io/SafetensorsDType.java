package org.lethe.model.io;

import ai.djl.ndarray.types.DataType;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The element types of the safetensors format, with their sizes and how each maps onto DJL.
 *
 * <p>Every type here can be validated in a header (its size is known). Only those with a {@link
 * #djlType} can be read into an NDArray: DJL 0.35.1's PyTorch engine aborts the whole JVM
 * ("terminate called without an active exception") on any tensor of type BFLOAT16, INT16,
 * UINT16, UINT32 or UINT64, so those are never handed to it. BF16 is still readable because it
 * is widened to F32 in Java first.
 */
enum SafetensorsDType {
    F64(8, DataType.FLOAT64, DataType.FLOAT64),
    F32(4, DataType.FLOAT32, DataType.FLOAT32),
    F16(2, DataType.FLOAT16, DataType.FLOAT16),
    /** Read by widening to F32 in Java; never created as a DJL BFLOAT16 array. */
    BF16(2, DataType.FLOAT32, DataType.BFLOAT16),
    I64(8, DataType.INT64, DataType.INT64),
    I32(4, DataType.INT32, DataType.INT32),
    I16(2, null, DataType.INT16),
    I8(1, DataType.INT8, DataType.INT8),
    U64(8, null, DataType.UINT64),
    U32(4, null, DataType.UINT32),
    U16(2, null, DataType.UINT16),
    U8(1, DataType.UINT8, DataType.UINT8),
    BOOL(1, DataType.BOOLEAN, DataType.BOOLEAN),
    F8_E4M3(1, null, null),
    F8_E5M2(1, null, null),
    C64(8, null, null);

    private final int byteSize;
    private final DataType djlType;
    private final DataType layoutType;

    SafetensorsDType(int byteSize, DataType djlType, DataType layoutType) {
        this.byteSize = byteSize;
        this.djlType = djlType;
        this.layoutType = layoutType;
    }

    /** Bytes per element. */
    int byteSize() {
        return byteSize;
    }

    /** The DJL type the raw data is loaded as, or null when this reader cannot load it. */
    DataType djlType() {
        return djlType;
    }

    /** The DJL type with exactly this memory layout (BF16 gives BFLOAT16), or null if none. */
    DataType layoutType() {
        return layoutType;
    }

    boolean isReadable() {
        return djlType != null;
    }

    boolean isFloating() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** The header name of this type, or null when the name is not a known safetensors dtype. */
    static SafetensorsDType parse(String name) {
        try {
            return valueOf(name);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The safetensors type a DJL array of this type is stored as, keeping its layout. */
    static SafetensorsDType of(DataType type) {
        for (SafetensorsDType t : values()) {
            if (t.layoutType == type) {
                return t;
            }
        }
        throw new IllegalArgumentException("DJL data type " + type + " has no safetensors equivalent");
    }

    /** The names of all types, for error messages. */
    static String knownNames() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
    }

    /** The names of the types that can be read into an NDArray, for error messages. */
    static String readableNames() {
        return Arrays.stream(values())
                .filter(SafetensorsDType::isReadable)
                .map(Enum::name)
                .collect(Collectors.joining(", "));
    }
}
