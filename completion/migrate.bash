# bash completion for migrate(1), the libmigrate command-line tool.
# Installed as share/bash-completion/completions/migrate; or source it.
# Commands, options and their arguments follow `migrate --help`.

_migrate()
{
	local cur prev word i
	local commands="status plan up down rollback redo check verify lint baseline repair new fmt import version help"
	local options="-u --url -p --plan --password-file -j --json -q --quiet -v --verbose --lock-timeout
		--batch-size --pause --allow-out-of-order --allow-amended --timestamp --schema --driver --large-rows -h --help -V --version"
	local schemes="sqlite: postgresql:// postgres:// mongodb://"

	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	# The argument of an option that takes one.
	case $prev in
	-p | --plan)
		# A file or directory, or another tool's directory: golang-migrate:DIR, goose:DIR, flyway:DIR.
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur") $(compgen -W "golang-migrate: goose: flyway:" -- "$cur"))
		return 0
		;;
	--password-file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	-u | --url)
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W "$schemes" -- "$cur"))
		return 0
		;;
	--driver)
		COMPREPLY=($(compgen -W "sqlite postgres mongo" -- "$cur"))
		return 0
		;;
	--lock-timeout | --batch-size | --pause | --large-rows)
		return 0
		;;
	esac

	case $cur in
	--plan=*)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "${cur#--plan=}"))
		return 0
		;;
	--url=*)
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W "$schemes" -- "${cur#--url=}"))
		return 0
		;;
	-*)
		COMPREPLY=($(compgen -W "$options" -- "$cur"))
		return 0
		;;
	esac

	# The command: the first word that is neither an option nor an option's argument.
	local command=
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		-u | --url | -p | --plan | --password-file | --lock-timeout | --batch-size | --pause | --driver | --large-rows)
			((i++))
			;;
		-*) ;;
		*)
			command=$word
			break
			;;
		esac
	done

	case $command in
	"")
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		;;
	import)
		# import takes the directory to write.
		if ((i == COMP_CWORD - 1)); then
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -d -- "$cur"))
		fi
		;;
	help)
		# help takes one command name.
		if ((i == COMP_CWORD - 1)); then
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		;;
	esac
	return 0
}

complete -F _migrate migrate
