/*
 * sta_identity: a Mosquitto 2.0 plugin (plugin API v5) that tells the SensorThings server who
 * published a message, binds client ids to users, and makes unknown user names cost as much as
 * wrong passwords.  docs/mqtt.md ("Who publishes") and docs/security.md describe the model.
 *
 *   MOSQ_EVT_MESSAGE     every PUBLISH a client sends: any user property named `sta-publisher` or
 *                        `sta-stamp` the client put there is removed, and `sta-publisher` = the
 *                        user name the broker authenticated is added (nothing for anonymous
 *                        clients), with `sta-stamp` = hex HMAC-SHA256 under the stamp secret of
 *                        (user, topic, idempotency key or "", payload), each preceded by its length
 *                        (4 bytes, big-endian).  The server takes the publisher of a create only from
 *                        a stamped property: a will message never passes this event (Mosquitto 2.0
 *                        sends it with the client's own properties), so a forged name in a will has
 *                        no valid stamp.  The retain flag is cleared: a create kept by the broker
 *                        would be stored again whenever the server resubscribes, and delivered to
 *                        whoever may read its topic later (after a Datastream moved to another site).
 *   MOSQ_EVT_BASIC_AUTH  runs before the password file check:
 *                        - client ids and user names with white space, control characters, quotes
 *                          or parentheses are refused (they could forge the broker's log lines);
 *                        - a client id must be the user name or start with `<user name>:` (user
 *                          names never hold ':'); an anonymous client's id must hold no ':' and
 *                          must not be a user name (of the password file, or of a `user` line of
 *                          the ACL file: users with a client certificate only, whose id is their
 *                          name).  So nobody takes over another user's session.
 *                        - a user name that is not in the password file is refused only after the
 *                          same PBKDF2-SHA512 a wrong password costs (timing tells nothing).
 *                        Otherwise it defers to Mosquitto's password file check.
 *   MOSQ_EVT_RELOAD      (SIGHUP) the user names are read again from both files, and the
 *                        reload file is rewritten: the server, which sends SIGHUP after rewriting
 *                        the password and ACL files, waits for it to change (Mosquitto handles the
 *                        signal only between two polls, and parses the ACL file right after this
 *                        event in the same loop iteration, before it reads any client's packet).
 *
 * Options (mosquitto.conf):
 *   plugin /path/to/sta_identity.so
 *   plugin_opt_password_file /path/to/passwd     (the same file as `password_file`)
 *   plugin_opt_acl_file /path/to/acl             (the same file as `acl_file`)
 *   plugin_opt_reload_file /path/to/reloaded     (optional: "<pid> <reloads>" after each reload)
 *   plugin_opt_stamp_secret_file /path/to/stamp.secret  (the HMAC key: the file's first line;
 *                                                the server reads the same file.  Without it
 *                                                messages carry no `sta-stamp`, and a server with
 *                                                STA_MQTT_IDENTITY=broker refuses their creates)
 *
 * Mosquitto 2.0.11 keeps the properties a plugin leaves in the event (src/plugin.c,
 * plugin__handle_message: `stored->properties = event_data.properties`): the list is rebuilt
 * here and the old one freed.  Build: gcc -shared -fPIC -O2 -o sta_identity.so sta_identity.c
 * -lcrypto (headers: Debian's mosquitto-dev and libmosquitto-dev).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mqtt_protocol.h>

#define PUBLISHER_PROPERTY "sta-publisher"
#define STAMP_PROPERTY "sta-stamp"
#define ORIGIN_PROPERTY "sta-origin"  /* the server's notifications; no client may claim it */
#define KEY_PROPERTY "idempotency-key"
#define STAMP_BYTES 32
#define MAX_SECRET 512
#define DEFAULT_ITERATIONS 100000
#define HASH_BYTES 64
#define SALT_BYTES 12
#define MAX_LINE 4096

struct name_set {
	char **names;      /* sorted */
	size_t count;
};

struct sta_state {
	mosquitto_plugin_id_t *id;
	char *password_file;
	char *acl_file;
	char *reload_file;
	EVP_MAC *hmac;  /* fetched once at start (a fetch per message would be a lookup in every PUBLISH) */
	char *server_user;  /* plugin_opt_server_user: the one user whose messages keep `sta-origin` */
	unsigned char secret[MAX_SECRET];
	size_t secret_length;      /* 0: no stamp secret, messages are not stamped */
	unsigned long reloads;
	struct name_set passwords;  /* users of the password file */
	struct name_set acl_users;  /* users of the ACL file's `user` lines */
	int iterations;    /* the largest PBKDF2 iteration count in the password file */
};

static struct sta_state state;

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void forget_names(struct name_set *set)
{
	size_t i;
	for(i = 0; i < set->count; i++){
		free(set->names[i]);
	}
	free(set->names);
	set->names = NULL;
	set->count = 0;
}

/* Password file: `name:$7$<iterations>$<salt>$<hash>`, the largest iteration count into *iterations. */
static char *password_user(char *line, int *iterations)
{
	char *colon = strchr(line, ':');
	long value;

	if(colon == NULL || colon == line || line[0] == '#'){
		return NULL;
	}
	*colon = '\0';
	if(strncmp(colon + 1, "$7$", 3) == 0){
		value = strtol(colon + 4, NULL, 10);
		if(value > *iterations && value < 100000000){
			*iterations = (int)value;
		}
	}
	return strdup(line);
}

/* ACL file: `user <name>`. */
static char *acl_user(char *line, int *unused)
{
	(void)unused;
	if(strncmp(line, "user ", 5) != 0 || line[5] == '\0'){
		return NULL;
	}
	return strdup(line + 5);
}

/* The names `parse` finds in the lines of `path`, sorted into `set`. */
static void read_set(const char *path, struct name_set *set, char *(*parse)(char *, int *), int *iterations)
{
	FILE *file;
	char line[MAX_LINE];
	char **names = NULL, **grown, *name;
	size_t count = 0, capacity = 0;

	file = fopen(path, "r");
	if(file == NULL){
		mosquitto_log_printf(MOSQ_LOG_WARNING, "sta_identity: cannot read %s", path);
		forget_names(set);  /* a password file it cannot read: every user name is unknown */
		return;
	}
	while(fgets(line, sizeof(line), file) != NULL){
		line[strcspn(line, "\r\n")] = '\0';
		name = parse(line, iterations);
		if(name == NULL){
			continue;
		}
		if(count == capacity){
			capacity = capacity ? capacity * 2 : 64;
			grown = realloc(names, capacity * sizeof(char *));
			if(grown == NULL){
				free(name);
				break;
			}
			names = grown;
		}
		names[count++] = name;
	}
	fclose(file);
	if(count > 0){
		qsort(names, count, sizeof(char *), compare_names);
	}
	forget_names(set);
	set->names = names;
	set->count = count;
	mosquitto_log_printf(MOSQ_LOG_INFO, "sta_identity: %zu user names from %s", count, path);
}

static void read_names(void)
{
	int iterations = 0;

	if(state.password_file != NULL){
		read_set(state.password_file, &state.passwords, password_user, &iterations);
	}
	state.iterations = iterations > 0 ? iterations : DEFAULT_ITERATIONS;
	if(state.acl_file != NULL){
		read_set(state.acl_file, &state.acl_users, acl_user, &iterations);
	}
}

static bool in_set(const struct name_set *set, const char *name)
{
	return name != NULL && set->count > 0
		&& bsearch(&name, set->names, set->count, sizeof(char *), compare_names) != NULL;
}

static bool known_name(const char *name)
{
	return in_set(&state.passwords, name);
}

/* The client id is the user name, or `<user name>:<anything>`. */
static bool id_belongs_to(const char *id, const char *user)
{
	size_t length = strlen(user);
	return strncmp(id, user, length) == 0 && (id[length] == '\0' || id[length] == ':');
}

/* No white space, control characters, quotes or parentheses: the server reads client ids (and
 * user names) out of the broker's `$SYS` log lines, where such characters could pass for the
 * rest of a line (mqtt/subscriptions.py). */
static bool plain_text(const char *text)
{
	const unsigned char *c;

	for(c = (const unsigned char *)text; *c != '\0'; c++){
		if(*c <= ' ' || *c == 0x7f || strchr("\"'()", *c) != NULL){
			return false;
		}
	}
	return true;
}

static bool id_allowed(const char *id, const char *user)
{
	if(id == NULL || !plain_text(id) || (user != NULL && !plain_text(user))){
		return false;
	}
	if(user != NULL){
		return id_belongs_to(id, user);
	}
	return strchr(id, ':') == NULL && !known_name(id) && !in_set(&state.acl_users, id);
}

/* What a wrong password costs in Mosquitto's own check (PBKDF2-SHA512, the file's iterations). */
static void spend_password_hash(const char *password)
{
	static const unsigned char salt[SALT_BYTES] = {0};
	unsigned char digest[HASH_BYTES];
	const char *text = password ? password : "";

	PKCS5_PBKDF2_HMAC(text, (int)strlen(text), salt, SALT_BYTES, state.iterations, EVP_sha512(),
			HASH_BYTES, digest);
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	const char *id = mosquitto_client_id(ed->client);

	(void)event;
	(void)userdata;
	if(!id_allowed(id, ed->username)){
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "sta_identity: client id %s refused for user %s",
				id ? id : "(none)", ed->username ? ed->username : "(anonymous)");
		return MOSQ_ERR_AUTH;
	}
	if(ed->username != NULL && state.password_file != NULL && !known_name(ed->username)){
		if(ed->password != NULL){
			spend_password_hash(ed->password);
		}
		return MOSQ_ERR_AUTH;
	}
	return MOSQ_ERR_PLUGIN_DEFER;  /* the password file decides */
}

/* Copy one property of a stored PUBLISH (the kinds Mosquitto keeps) unless it is a publisher stamp;
 * the first idempotency key's value into *key (the caller frees it). */
static int copy_property(mosquitto_property **target, const mosquitto_property *property, char **key,
		bool from_server)
{
	int identifier = mosquitto_property_identifier(property);
	char *name = NULL, *value = NULL;
	void *data = NULL;
	uint16_t length = 0;
	uint8_t byte = 0;
	int rc = MOSQ_ERR_SUCCESS;

	switch(identifier){
		case MQTT_PROP_USER_PROPERTY:
			if(mosquitto_property_read_string_pair(property, identifier, &name, &value, false) == NULL){
				return MOSQ_ERR_NOMEM;
			}
			if(strcmp(name, PUBLISHER_PROPERTY) != 0 && strcmp(name, STAMP_PROPERTY) != 0
					&& (from_server || strcmp(name, ORIGIN_PROPERTY) != 0)){
				rc = mosquitto_property_add_string_pair(target, identifier, name, value);
			}
			if(*key == NULL && strcmp(name, KEY_PROPERTY) == 0){
				*key = value;
				value = NULL;
			}
			break;
		case MQTT_PROP_CONTENT_TYPE:
		case MQTT_PROP_RESPONSE_TOPIC:
			if(mosquitto_property_read_string(property, identifier, &value, false) == NULL){
				return MOSQ_ERR_NOMEM;
			}
			rc = mosquitto_property_add_string(target, identifier, value);
			break;
		case MQTT_PROP_CORRELATION_DATA:
			if(mosquitto_property_read_binary(property, identifier, &data, &length, false) == NULL){
				return MOSQ_ERR_NOMEM;
			}
			rc = mosquitto_property_add_binary(target, identifier, data, length);
			break;
		case MQTT_PROP_PAYLOAD_FORMAT_INDICATOR:
			if(mosquitto_property_read_byte(property, identifier, &byte, false) == NULL){
				return MOSQ_ERR_NOMEM;
			}
			rc = mosquitto_property_add_byte(target, identifier, byte);
			break;
		default:
			break;  /* not kept with a stored message */
	}
	mosquitto_free(name);
	mosquitto_free(value);
	mosquitto_free(data);
	return rc;
}

static bool mac_field(EVP_MAC_CTX *mac, const void *data, size_t length)
{
	unsigned char prefix[4];

	prefix[0] = (unsigned char)(length >> 24);
	prefix[1] = (unsigned char)(length >> 16);
	prefix[2] = (unsigned char)(length >> 8);
	prefix[3] = (unsigned char)length;
	return EVP_MAC_update(mac, prefix, sizeof(prefix)) == 1 && (length == 0 || EVP_MAC_update(mac, data, length) == 1);
}

/* hex HMAC-SHA256(secret, user, topic, key, payload) into `hex` (2 * STAMP_BYTES + 1 bytes). */
static bool compute_stamp(const char *user, const char *topic, const char *key, const void *payload,
		uint32_t payloadlen, char *hex)
{
	EVP_MAC_CTX *mac = state.hmac ? EVP_MAC_CTX_new(state.hmac) : NULL;
	OSSL_PARAM params[2];
	unsigned char digest[STAMP_BYTES];
	size_t length = 0, i;
	bool ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = mac != NULL && EVP_MAC_init(mac, state.secret, state.secret_length, params) == 1
		&& mac_field(mac, user, strlen(user)) && mac_field(mac, topic, strlen(topic))
		&& mac_field(mac, key ? key : "", key ? strlen(key) : 0) && mac_field(mac, payload, payloadlen)
		&& EVP_MAC_final(mac, digest, &length, sizeof(digest)) == 1 && length == STAMP_BYTES;
	EVP_MAC_CTX_free(mac);
	for(i = 0; ok && i < STAMP_BYTES; i++){
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	}
	return ok;
}

static int add_stamp(mosquitto_property **stamped, const struct mosquitto_evt_message *ed, const char *user,
		const char *key)
{
	char hex[2 * STAMP_BYTES + 1];
	int rc = mosquitto_property_add_string_pair(stamped, MQTT_PROP_USER_PROPERTY, PUBLISHER_PROPERTY, user);

	if(rc != MOSQ_ERR_SUCCESS || state.secret_length == 0){
		return rc;
	}
	if(!compute_stamp(user, ed->topic, key, ed->payload, ed->payloadlen, hex)){
		mosquitto_log_printf(MOSQ_LOG_ERR, "sta_identity: HMAC-SHA256 failed");
		return MOSQ_ERR_UNKNOWN;
	}
	return mosquitto_property_add_string_pair(stamped, MQTT_PROP_USER_PROPERTY, STAMP_PROPERTY, hex);
}

static int on_message(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_message *ed = event_data;
	const char *user = mosquitto_client_username(ed->client);
	const mosquitto_property *property;
	mosquitto_property *stamped = NULL;
	char *key = NULL;
	int rc = MOSQ_ERR_SUCCESS;
	bool from_server = user != NULL && state.server_user != NULL && strcmp(user, state.server_user) == 0;

	(void)event;
	(void)userdata;
	for(property = ed->properties; property != NULL && rc == MOSQ_ERR_SUCCESS;
			property = mosquitto_property_next(property)){
		rc = copy_property(&stamped, property, &key, from_server);
	}
	if(rc == MOSQ_ERR_SUCCESS && user != NULL){
		rc = add_stamp(&stamped, ed, user, key);
	}
	mosquitto_free(key);
	if(rc != MOSQ_ERR_SUCCESS){
		mosquitto_property_free_all(&stamped);
		return rc;  /* the message is dropped rather than passed on unstamped */
	}
	mosquitto_property_free_all(&ed->properties);
	ed->properties = stamped;
	ed->retain = false;  /* a create is stored once: never kept for (re)subscribers (plugin__handle_message keeps it) */
	return MOSQ_ERR_SUCCESS;
}

/* The stamp secret: the first line of the file (surrounding white space dropped). */
static int read_secret(const char *path)
{
	FILE *file = fopen(path, "r");
	char line[MAX_SECRET];
	size_t length;

	if(file == NULL || fgets(line, sizeof(line), file) == NULL){
		mosquitto_log_printf(MOSQ_LOG_ERR, "sta_identity: cannot read the stamp secret %s", path);
		if(file != NULL){
			fclose(file);
		}
		return MOSQ_ERR_INVAL;
	}
	fclose(file);
	length = strcspn(line, " \t\r\n");
	if(length < 16){
		mosquitto_log_printf(MOSQ_LOG_ERR, "sta_identity: the stamp secret in %s is too short", path);
		return MOSQ_ERR_INVAL;
	}
	memcpy(state.secret, line, length);
	state.secret_length = length;
	return MOSQ_ERR_SUCCESS;
}

/* "<pid> <reloads>" into the reload file (written aside, then renamed: never read half-written). */
static void note_reload(void)
{
	char partial[MAX_LINE];
	FILE *file;

	if(state.reload_file == NULL || strlen(state.reload_file) + 2 > sizeof(partial)){
		return;
	}
	snprintf(partial, sizeof(partial), "%s~", state.reload_file);
	file = fopen(partial, "w");
	if(file == NULL){
		mosquitto_log_printf(MOSQ_LOG_WARNING, "sta_identity: cannot write %s", partial);
		return;
	}
	fprintf(file, "%ld %lu\n", (long)getpid(), state.reloads++);
	fclose(file);
	rename(partial, state.reload_file);
}

static int on_reload(int event, void *event_data, void *userdata)
{
	(void)event;
	(void)event_data;
	(void)userdata;
	read_names();
	note_reload();
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	int i;
	for(i = 0; i < supported_version_count; i++){
		if(supported_versions[i] == 5){
			return 5;
		}
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options,
		int option_count)
{
	int i, rc;

	memset(&state, 0, sizeof(state));
	state.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	state.id = identifier;
	state.iterations = DEFAULT_ITERATIONS;
	for(i = 0; i < option_count; i++){
		if(strcmp(options[i].key, "password_file") == 0){
			state.password_file = strdup(options[i].value);
		}else if(strcmp(options[i].key, "acl_file") == 0){
			state.acl_file = strdup(options[i].value);
		}else if(strcmp(options[i].key, "server_user") == 0){
			state.server_user = strdup(options[i].value);
		}else if(strcmp(options[i].key, "reload_file") == 0){
			state.reload_file = strdup(options[i].value);
		}else if(strcmp(options[i].key, "stamp_secret_file") == 0 && read_secret(options[i].value) != MOSQ_ERR_SUCCESS){
			return MOSQ_ERR_INVAL;  /* the broker does not start: better than unstamped messages */
		}
	}
	*userdata = &state;
	read_names();
	note_reload();
	rc = mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, NULL);
	if(rc == MOSQ_ERR_SUCCESS){
		rc = mosquitto_callback_register(identifier, MOSQ_EVT_MESSAGE, on_message, NULL, NULL);
	}
	if(rc == MOSQ_ERR_SUCCESS){
		rc = mosquitto_callback_register(identifier, MOSQ_EVT_RELOAD, on_reload, NULL, NULL);
	}
	return rc;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	mosquitto_callback_unregister(state.id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
	mosquitto_callback_unregister(state.id, MOSQ_EVT_MESSAGE, on_message, NULL);
	mosquitto_callback_unregister(state.id, MOSQ_EVT_RELOAD, on_reload, NULL);
	forget_names(&state.passwords);
	forget_names(&state.acl_users);
	OPENSSL_cleanse(state.secret, sizeof(state.secret));
	free(state.password_file);
	free(state.acl_file);
	free(state.reload_file);
	free(state.server_user);
	EVP_MAC_free(state.hmac);
	state.hmac = NULL;
	state.server_user = NULL;
	state.password_file = state.acl_file = state.reload_file = NULL;
	return MOSQ_ERR_SUCCESS;
}
