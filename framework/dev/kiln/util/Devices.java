package dev.kiln.util;

import ai.djl.Device;
import ai.djl.engine.Engine;

/** Parses the device setting used everywhere a model is built: {@code auto | cpu | gpu | gpu:N}. */
public final class Devices {
    private Devices() {}

    public static Device parse(String spec) {
        String s = spec == null ? "auto" : spec.trim().toLowerCase();
        int gpus = Engine.getInstance().getGpuCount();
        if (s.equals("auto")) return gpus > 0 ? Device.gpu(0) : Device.cpu();
        if (s.equals("cpu")) return Device.cpu();
        if (s.equals("gpu") || s.startsWith("gpu:") || s.equals("cuda") || s.startsWith("cuda:")) {
            int idx = 0;
            int colon = s.indexOf(':');
            if (colon >= 0) {
                try {
                    idx = Integer.parseInt(s.substring(colon + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("device '" + spec + "': expected auto, cpu, gpu or gpu:N");
                }
            }
            if (idx >= gpus) {
                throw new IllegalArgumentException("device '" + spec + "': " + gpus
                        + " GPU(s) visible to PyTorch (build with -Dgpu and a CUDA libtorch; see README, GPU use)");
            }
            return Device.gpu(idx);
        }
        throw new IllegalArgumentException("device '" + spec + "': expected auto, cpu, gpu or gpu:N");
    }
}
