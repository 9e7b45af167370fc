package dev.kiln.log;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LossPlotTest {

    @TempDir
    Path tmp;

    /** Pixels within a small RGB distance of {@code c} inside the given box. */
    static int near(BufferedImage img, Color c, int x0, int y0, int x1, int y1) {
        int n = 0;
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                int p = img.getRGB(x, y);
                int dr = ((p >> 16) & 0xff) - c.getRed(), dg = ((p >> 8) & 0xff) - c.getGreen(), db = (p & 0xff) - c.getBlue();
                if (dr * dr + dg * dg + db * db < 30 * 30) n++;
            }
        }
        return n;
    }

    /** Pixels darker than mid-grey: text (antialiased glyphs rarely reach their full colour). */
    static int dark(BufferedImage img, int x0, int y0, int x1, int y1) {
        int n = 0;
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                int p = img.getRGB(x, y);
                if (((p >> 16) & 0xff) + ((p >> 8) & 0xff) + (p & 0xff) < 3 * 128) n++;
            }
        }
        return n;
    }

    /** A noisy decaying training loss logged every step, and an eval every 100 steps. */
    static List<JsonObject> fakeRun() {
        Random r = new Random(1);
        List<JsonObject> rows = new ArrayList<>();
        for (int s = 1; s <= 2000; s++) {
            JsonObject o = new JsonObject();
            o.addProperty("step", s);
            o.addProperty("loss", 2 + 8 * Math.exp(-s / 300.0) + 0.3 * r.nextGaussian());
            o.addProperty("lr", 5e-5);
            rows.add(o);
            if (s % 100 == 0) {
                JsonObject e = new JsonObject();
                e.addProperty("step", s);
                e.addProperty("eval_loss", 2.2 + 8 * Math.exp(-s / 300.0));
                e.addProperty("eval_accuracy", 1 - Math.exp(-s / 500.0));
                rows.add(e);
            }
        }
        return rows;
    }

    @Test
    void pngDecodesAtSizeWithTheSeriesColours() throws IOException {
        Path png = tmp.resolve("out").resolve("loss.png");
        LossPlot.fromMetrics(fakeRun(), "gpt2-tiny: loss").write(png);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(900, img.getWidth());
        assertEquals(500, img.getHeight());
        // main panel (top 60%): train loss in colour 0, eval loss in colour 1; second panel: accuracy in colour 2
        int mainBottom = 44 + (int) ((450 - 44 - 42) * 0.62);
        assertTrue(near(img, LossPlot.colour(0), 80, 45, 875, mainBottom) > 500, "train loss line");
        assertTrue(near(img, LossPlot.colour(1), 80, 45, 875, mainBottom) > 100, "eval loss markers");
        assertTrue(near(img, LossPlot.colour(2), 80, mainBottom + 42, 875, 450) > 100, "eval accuracy");
        // text was drawn: dark pixels in the title band and beside the y axis (tick labels)
        assertTrue(dark(img, 0, 0, 900, 36) > 50, "title");
        assertTrue(dark(img, 24, 44, 76, mainBottom) > 50, "y tick labels");
        assertTrue(dark(img, 80, 455, 875, 500) > 20, "x axis title");
        try (var s = Files.list(png.getParent())) {
            assertEquals(1, s.count(), "no temp file left beside the PNG");
        }
    }

    @Test
    void customSizeSinglePanelAndNonFiniteValues() {
        double[] x = {0, 1, 2, 3, 4, 5};
        double[] y = {3, 2.5, Double.NaN, 2, Double.POSITIVE_INFINITY, 1.5};
        BufferedImage img = new LossPlot("t").size(400, 300).add("loss", x, y).render();
        assertEquals(400, img.getWidth());
        assertEquals(300, img.getHeight());
        assertTrue(near(img, LossPlot.colour(0), 79, 45, 376, 250) > 50);
    }

    @Test
    void emptyAndConstantSeriesStillRender() {
        BufferedImage a = new LossPlot("empty").render();
        assertEquals(900, a.getWidth());
        BufferedImage b = new LossPlot("flat").add("loss", new double[] {5, 5, 5}, new double[] {1, 1, 1}).render();
        assertTrue(near(b, LossPlot.colour(0), 79, 45, 876, 450) > 20);
    }

    @Test
    void niceTicksAndLabels() {
        assertArrayEquals(new double[] {0, 2, 4, 6, 8, 10, 12}, LossPlot.ticks(0, 12, 6), 1e-12);
        assertArrayEquals(new double[] {0.5, 1.0, 1.5, 2.0}, LossPlot.ticks(0.31, 2.2, 4), 1e-12);
        assertArrayEquals(new double[] {0, 5000, 10000, 15000, 20000}, LossPlot.ticks(0, 20000, 4), 1e-9);
        assertEquals("15k", LossPlot.tickLabel(15000, 5000, true));
        assertEquals("2500", LossPlot.tickLabel(2500, 500, true)); // k only when every tick is whole thousands
        assertEquals("500", LossPlot.tickLabel(500, 500, true));
        assertEquals("0.25", LossPlot.tickLabel(0.25, 0.05, false));
        assertEquals("3", LossPlot.tickLabel(3, 1, false));
    }

    @Test
    void emaIsDebiased() {
        double[] s = LossPlot.ema(new double[] {4, 4, 4, Double.NaN, 4}, 0.9);
        assertEquals(4, s[0], 1e-12); // not 0.4, as a plain EMA started at zero would give
        assertEquals(4, s[2], 1e-12);
        assertTrue(Double.isNaN(s[3]));
        assertEquals(4, s[4], 1e-12);
    }

    @Test
    void textPlotAndSparkline() {
        double[] x = new double[100], y = new double[100];
        for (int i = 0; i < 100; i++) {
            x[i] = i + 1;
            y[i] = 10 - i * 0.08;
        }
        String t = LossPlot.textPlot("loss", x, y, 20, 5);
        List<String> lines = t.lines().toList();
        assertEquals("loss", lines.get(0));
        assertEquals(1 + 5 + 2, lines.size(), t);
        assertTrue(lines.get(1).contains("|*"), t); // highest value in the first column, top row
        assertTrue(lines.get(5).endsWith("*"), t); // lowest in the last column, bottom row
        assertTrue(lines.get(6).contains("+--------------------"), t);
        assertTrue(lines.get(7).trim().startsWith("1") && lines.get(7).trim().endsWith("100"), t);
        for (char c : t.toCharArray()) assertTrue(c < 128, "ASCII only");

        String spark = LossPlot.sparkline(y, 8);
        assertEquals(8, spark.length());
        assertEquals('\u2588', spark.charAt(0));
        assertEquals('\u2581', spark.charAt(7));
        assertEquals("(no finite data)", LossPlot.textPlot("", new double[] {1}, new double[] {Double.NaN}, 10, 3).strip());
    }
}
