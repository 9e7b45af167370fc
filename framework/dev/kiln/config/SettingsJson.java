package dev.kiln.config;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;

/**
 * Settings objects (classes and records) to and from JSON with the config's one naming policy (field names in
 * snake_case, or their {@code @SerializedName}), so what a task saves in kiln_task.json reads like its config
 * and nobody spells the keys by hand. Unknown keys are ignored; absent keys keep the class's defaults.
 */
public final class SettingsJson {
    private SettingsJson() {}

    private static final Gson GSON = builder().create();

    /** A Gson builder with the one naming policy, for a file that needs more (nulls written, as in trainer_state.json). */
    public static GsonBuilder builder() {
        return new GsonBuilder().setFieldNamingPolicy(Schema.NAMING).disableHtmlEscaping();
    }

    public static JsonObject toJson(Object settings) {
        return GSON.toJsonTree(settings).getAsJsonObject();
    }

    public static <T> T fromJson(JsonObject json, Class<T> type) {
        return GSON.fromJson(json, type);
    }
}
