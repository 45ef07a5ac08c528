/*
 * sta_identity: a Mosquitto 2.0 plugin (plugin API v5) that tells the SensorThings server who
 * published a message, binds client ids to users, and makes unknown user names cost as much as
 * wrong passwords.  docs/mqtt.md ("Who publishes") and docs/security.md describe the model.
 *
 *   MOSQ_EVT_MESSAGE     every PUBLISH a client sends: any user property named `sta-publisher`
 *                        the client put there is removed, and `sta-publisher` = the user name the
 *                        broker authenticated is added (nothing for anonymous clients).  The server
 *                        takes the publisher of a create only from this property.
 *   MOSQ_EVT_BASIC_AUTH  runs before the password file check:
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

#include <openssl/evp.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mqtt_protocol.h>

#define PUBLISHER_PROPERTY "sta-publisher"
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

static bool id_allowed(const char *id, const char *user)
{
	if(id == NULL){
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

/* Copy one property of a stored PUBLISH (the kinds Mosquitto keeps) unless it is a publisher stamp. */
static int copy_property(mosquitto_property **target, const mosquitto_property *property)
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
			if(strcmp(name, PUBLISHER_PROPERTY) != 0){
				rc = mosquitto_property_add_string_pair(target, identifier, name, value);
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

static int on_message(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_message *ed = event_data;
	const char *user = mosquitto_client_username(ed->client);
	const mosquitto_property *property;
	mosquitto_property *stamped = NULL;
	int rc = MOSQ_ERR_SUCCESS;

	(void)event;
	(void)userdata;
	for(property = ed->properties; property != NULL && rc == MOSQ_ERR_SUCCESS;
			property = mosquitto_property_next(property)){
		rc = copy_property(&stamped, property);
	}
	if(rc == MOSQ_ERR_SUCCESS && user != NULL){
		rc = mosquitto_property_add_string_pair(&stamped, MQTT_PROP_USER_PROPERTY, PUBLISHER_PROPERTY, user);
	}
	if(rc != MOSQ_ERR_SUCCESS){
		mosquitto_property_free_all(&stamped);
		return rc;  /* the message is dropped rather than passed on unstamped */
	}
	mosquitto_property_free_all(&ed->properties);
	ed->properties = stamped;
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
	state.id = identifier;
	state.iterations = DEFAULT_ITERATIONS;
	for(i = 0; i < option_count; i++){
		if(strcmp(options[i].key, "password_file") == 0){
			state.password_file = strdup(options[i].value);
		}else if(strcmp(options[i].key, "acl_file") == 0){
			state.acl_file = strdup(options[i].value);
		}else if(strcmp(options[i].key, "reload_file") == 0){
			state.reload_file = strdup(options[i].value);
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
	free(state.password_file);
	free(state.acl_file);
	free(state.reload_file);
	state.password_file = state.acl_file = state.reload_file = NULL;
	return MOSQ_ERR_SUCCESS;
}
