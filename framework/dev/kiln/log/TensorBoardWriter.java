package dev.kiln.log;

import com.google.protobuf.CodedOutputStream;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Scalar-only TensorBoard event file writer: TFRecord framing around hand-encoded {@code Event} protos.
 *
 * <p>{@link #scalar} buffers; call {@link #flush()} after each step's batch (or use {@link #scalars}, which
 * writes the batch as one Event and flushes) so a killed run keeps its curves up to the last step.
 */
public final class TensorBoardWriter implements Closeable {
    /** TFRecord CRC mask constant; masking keeps CRCs of data that itself holds CRCs well distributed. */
    static final int MASK_DELTA = 0xa282ead8;

    // Event / Summary / Summary.Value / SessionLog field numbers (tensorflow/core/util/event.proto, summary.proto)
    private static final int EVENT_WALL_TIME = 1, EVENT_STEP = 2, EVENT_FILE_VERSION = 3, EVENT_SUMMARY = 5,
            EVENT_SESSION_LOG = 7;
    private static final int SUMMARY_VALUE = 1, VALUE_TAG = 1, VALUE_SIMPLE = 2;
    private static final int SESSION_LOG_STATUS = 1, SESSION_START = 1;
    // HParams plugin (tensorboard/plugins/hparams/plugin_data.proto, api.proto; google/protobuf/struct.proto)
    private static final int VALUE_METADATA = 9, METADATA_PLUGIN_DATA = 1, PLUGIN_NAME = 1, PLUGIN_CONTENT = 2;
    private static final int HPARAMS_SESSION_START = 3, HPARAMS_SESSION_END = 4;
    private static final int START_HPARAMS = 1, START_MODEL_URI = 2, START_TIME = 5, END_STATUS = 1, END_TIME = 2;
    private static final int MAP_KEY = 1, MAP_VALUE = 2;
    private static final int PB_NUMBER = 2, PB_STRING = 3, PB_BOOL = 4;
    /** api.proto's Status. */
    public static final int STATUS_SUCCESS = 1, STATUS_FAILURE = 2;
    static final String SESSION_START_TAG = "_hparams_/session_start_info", SESSION_END_TAG = "_hparams_/session_end_info";

    private final Path file;
    private final OutputStream out;
    private final CRC32C crc = new CRC32C();
    private final ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer footer = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    private boolean closed;

    /** A fresh run: new event file in {@code dir} (created if needed). */
    public TensorBoardWriter(Path dir) throws IOException {
        this(dir, -1);
    }

    /**
     * A run resumed after {@code resumeStep} (the last step whose state was checkpointed), or a fresh run when
     * negative. On resume a SessionLog START at {@code resumeStep + 1} tells TensorBoard to drop the earlier
     * file's events from that step on, so curves of the killed attempt past the checkpoint don't overlap.
     */
    public TensorBoardWriter(Path dir, long resumeStep) throws IOException {
        Files.createDirectories(dir);
        long secs = System.currentTimeMillis() / 1000;
        String base = "events.out.tfevents." + secs + "." + hostname();
        Path f = dir.resolve(base);
        OutputStream o = null;
        // Two writers in one folder within the same second must not clobber each other.
        for (int i = 1; o == null; i++) {
            try {
                o = Files.newOutputStream(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (FileAlreadyExistsException e) {
                f = dir.resolve(base + "." + i);
            }
        }
        this.file = f;
        this.out = new BufferedOutputStream(o, 1 << 16);
        writeEvent(event(wallTime(), 0, e -> e.writeString(EVENT_FILE_VERSION, "brain.Event:2")));
        if (resumeStep >= 0) {
            byte[] sessionLog = message(m -> m.writeEnum(SESSION_LOG_STATUS, SESSION_START));
            writeEvent(event(wallTime(), resumeStep + 1, e -> e.writeByteArray(EVENT_SESSION_LOG, sessionLog)));
        }
        out.flush();
    }

    public Path file() {
        return file;
    }

    /** One scalar as its own Event. Buffered: call {@link #flush()} once the step's scalars are written. */
    public synchronized void scalar(String tag, float value, long step) {
        byte[] summary = message(s -> s.writeByteArray(SUMMARY_VALUE, value(tag, value)));
        writeEvent(event(wallTime(), step, e -> e.writeByteArray(EVENT_SUMMARY, summary)));
    }

    /** All of a step's scalars in one Event (non-finite and null values included as given), then flush. */
    public synchronized void scalars(long step, Map<String, ? extends Number> values) {
        byte[] summary = message(s -> {
            for (Map.Entry<String, ? extends Number> v : values.entrySet()) {
                if (v.getValue() != null) s.writeByteArray(SUMMARY_VALUE, value(v.getKey(), v.getValue().floatValue()));
            }
        });
        writeEvent(event(wallTime(), step, e -> e.writeByteArray(EVENT_SUMMARY, summary)));
        flush();
    }

    /**
     * The run's hyperparameters for TensorBoard's HParams tab (a SessionStartInfo): numbers, booleans and strings;
     * other values are written as their text. No Experiment summary is written: TensorBoard then builds the
     * experiment from the sessions it finds (each run folder one session, its scalars the metrics), so runs started
     * separately compare side by side. Flushed.
     */
    public synchronized void hparams(Map<String, ?> hparams, String modelUri) {
        byte[] start = message(m -> {
            for (Map.Entry<String, ?> e : hparams.entrySet()) {
                if (e.getValue() == null) continue;
                byte[] value = message(v -> {
                    Object x = e.getValue();
                    if (x instanceof Number n) v.writeDouble(PB_NUMBER, n.doubleValue());
                    else if (x instanceof Boolean b) v.writeBool(PB_BOOL, b);
                    else v.writeString(PB_STRING, x.toString());
                });
                m.writeByteArray(START_HPARAMS, message(entry -> {
                    entry.writeString(MAP_KEY, e.getKey());
                    entry.writeByteArray(MAP_VALUE, value);
                }));
            }
            if (modelUri != null) m.writeString(START_MODEL_URI, modelUri);
            m.writeDouble(START_TIME, wallTime());
        });
        pluginEvent(SESSION_START_TAG, HPARAMS_SESSION_START, start);
    }

    /** The end of the HParams session: {@link #STATUS_SUCCESS} or {@link #STATUS_FAILURE}. Flushed. */
    public synchronized void hparamsEnd(int status) {
        pluginEvent(SESSION_END_TAG, HPARAMS_SESSION_END, message(m -> {
            m.writeEnum(END_STATUS, status);
            m.writeDouble(END_TIME, wallTime());
        }));
    }

    /** A Summary value carrying only plugin metadata: HParamsPluginData (version 0, omitted) with one oneof field. */
    private void pluginEvent(String tag, int dataField, byte[] data) {
        byte[] content = message(c -> c.writeByteArray(dataField, data));
        byte[] metadata = message(md -> md.writeByteArray(METADATA_PLUGIN_DATA, message(pd -> {
            pd.writeString(PLUGIN_NAME, "hparams");
            pd.writeByteArray(PLUGIN_CONTENT, content);
        })));
        byte[] summary = message(sm -> sm.writeByteArray(SUMMARY_VALUE, message(v -> {
            v.writeString(VALUE_TAG, tag);
            v.writeByteArray(VALUE_METADATA, metadata);
        })));
        writeEvent(event(wallTime(), 0, e -> e.writeByteArray(EVENT_SUMMARY, summary)));
        flush();
    }

    /** Pushes buffered records to the OS (no fsync: surviving a process kill is the goal, not a power cut). */
    public synchronized void flush() {
        if (closed) return;
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) return;
        closed = true;
        out.close();
    }

    /** {@code ((crc >>> 15) | (crc << 17)) + 0xa282ead8}, as TFRecord stores it. */
    static int mask(int crc) {
        return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
    }

    private int maskedCrc(byte[] b, int off, int len) {
        crc.reset();
        crc.update(b, off, len);
        return mask((int) crc.getValue());
    }

    private void writeEvent(byte[] data) {
        if (closed) throw new IllegalStateException("TensorBoardWriter is closed: " + file);
        try {
            header.clear();
            header.putLong(data.length);
            header.putInt(maskedCrc(header.array(), 0, 8));
            footer.clear();
            footer.putInt(maskedCrc(data, 0, data.length));
            out.write(header.array(), 0, 12);
            out.write(data);
            out.write(footer.array(), 0, 4);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] value(String tag, float v) {
        return message(m -> {
            m.writeString(VALUE_TAG, tag);
            m.writeFloat(VALUE_SIMPLE, v);
        });
    }

    private static byte[] event(double wallTime, long step, Body what) {
        return message(e -> {
            e.writeDouble(EVENT_WALL_TIME, wallTime);
            if (step != 0) e.writeInt64(EVENT_STEP, step); // proto3: default 0 is omitted
            what.write(e);
        });
    }

    private interface Body {
        void write(CodedOutputStream out) throws IOException;
    }

    private static byte[] message(Body body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
        CodedOutputStream c = CodedOutputStream.newInstance(bytes);
        try {
            body.write(c);
            c.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static double wallTime() {
        return System.currentTimeMillis() / 1000.0;
    }

    /** Kernel hostname first: InetAddress lookups can stall for seconds on hosts with broken DNS. */
    static String hostname() {
        String h = null;
        try {
            h = Files.readString(Paths.get("/proc/sys/kernel/hostname"), StandardCharsets.UTF_8).trim();
        } catch (IOException | RuntimeException ignored) {
            // not Linux
        }
        if (h == null || h.isEmpty()) h = System.getenv("HOSTNAME");
        if (h == null || h.isEmpty()) {
            try {
                h = InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                h = "localhost";
            }
        }
        // The name is a path component; keep it to safe characters.
        return h.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
